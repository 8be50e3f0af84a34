"""`recorder config check|keys`: validate a config file strictly, list every key."""

from __future__ import annotations

import argparse
import sys

from device import config as config_mod


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("config", help="check a config file or list every key")
    sub = p.add_subparsers(dest="config_verb", required=True)
    check = sub.add_parser(
        "check", help="validate; unknown keys fail here (they only warn elsewhere)"
    )
    check.set_defaults(handler=_check)
    keys = sub.add_parser("keys", help="list every key with its default and what is allowed")
    keys.set_defaults(handler=_keys)


def _check(args: argparse.Namespace) -> int:
    result = config_mod.load(args.config)
    for warning in result.warnings:
        print(f"recorder: config: {warning}", file=sys.stderr)
    if result.warnings:
        return 1
    print(f"{args.config}: ok")
    return 0


def _keys(args: argparse.Namespace) -> int:
    for key, default, allowed in config_mod.describe():
        print(f"{key:40} {default:32} {allowed}")
    return 0

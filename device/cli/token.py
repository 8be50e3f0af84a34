"""`recorder token refresh|status`: rotate the device token now; show the last rotation's outcome."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from device import tokens
from device.cli.common import load_config, print_json


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("token", help="rotate the device token, or show its state")
    sub = p.add_subparsers(dest="token_verb", required=True)
    refresh = sub.add_parser("refresh", help="get a new token from the API and seal it")
    refresh.set_defaults(handler=_refresh)
    check = sub.add_parser("check", help="find which sealed token works (old, then new); keep it")
    check.set_defaults(handler=_check)
    status = sub.add_parser("status", help="ok or lost, and when the token was last refreshed")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)


def _refresh(args: argparse.Namespace) -> int:
    """Exit 0 rotated; 1 refresh did not happen (the old token still works, retry later);
    2 (with `token lost: rebind needed`) when no token works."""
    config = load_config(args)
    rotator = tokens.rotator_from_config(config)
    try:
        outcome = rotator.refresh()
    except tokens.RefreshFailed as exc:
        print(f"recorder: token: {exc}")
        return 1
    print(f"token {outcome}; sealed in {rotator.vault.path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    """Exit 0 when a token works (sealed alone), 1 when it cannot be told now, 2 when lost."""
    rotator = tokens.rotator_from_config(load_config(args))
    try:
        which = rotator.settle()
    except tokens.RefreshFailed as exc:
        print(f"recorder: token: {exc}")
        return 1
    print(f"token ok (the {which} one)")
    return 0


def _status(args: argparse.Namespace) -> int:
    config = load_config(args, require_api=False)
    states = tokens.TokenStateFile(config.api.token_file)
    state, problem = states.load(), states.problem()
    if args.json:
        print_json({**asdict(state), "problem": problem})
    else:
        print(problem or "token ok", f"(last refresh: {state.refreshed_at or 'never'})")
    return 1 if problem else 0

"""`recorder status [--json]`: queue counts by state, parked entries with reasons, last errors."""

from __future__ import annotations

import argparse

from device import upload_status
from device.cli._wiring import open_spool
from device.cli.common import load_config, print_json


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("status", help="what the spool holds and why anything is stuck")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--limit", type=int, default=20, help="parked entries and errors listed at most")
    p.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    config = load_config(args, require_api=False)
    with open_spool(config, owner=False) as spool:
        report = upload_status.report(spool, limit=args.limit)
    if args.json:
        print_json(report)
    else:
        print(upload_status.render(report))
    return 0

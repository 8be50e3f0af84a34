"""`recorder flush [--timeout S] [--retry-parked]`: upload everything pending, then exit.

Exit 0 when nothing is left, 1 if anything is parked (printed with its reason), 2 on timeout.
"""

from __future__ import annotations

import argparse
import time

from device import upload_status
from device.cli import _wiring
from device.cli.common import load_config, print_json


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("flush", help="upload everything pending in the spool, then exit")
    p.add_argument("--timeout", type=float, default=None, help="give up after S seconds (exit 2)")
    p.add_argument("--retry-parked", action="store_true", help="retry parked entries too")
    p.add_argument("--json", action="store_true", help="print the final status as JSON")
    p.set_defaults(handler=_flush)


def _flush(args: argparse.Namespace) -> int:
    config = load_config(args)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    with _wiring.open_spool(config) as spool, _wiring.api_client(config) as api:
        worker = _wiring.uploader(config, spool, api)
        if args.retry_parked:
            worker.retry_parked()
        result = worker.drain(deadline)
        report = upload_status.report(spool)
    if args.json:
        print_json({**report, "timed_out": result.timed_out})
    else:
        print(upload_status.render(report))
    if result.timed_out:
        print("flush: timed out with entries still pending")
        return 2
    return 1 if result.parked else 0

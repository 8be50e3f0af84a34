"""`recorder record --duration S [--upload]`: capture one recording from the configured audio and
camera backends into the spool; print the local recording and its media files as JSON."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from device.api import ApiClient
from device.cli.common import load_config, print_json
from device.config import Config
from device.spool import Spool

log = logging.getLogger("recorder")


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("record", help="capture one recording into the spool; print it as JSON")
    p.add_argument("--duration", type=_seconds, required=True, help="seconds of audio to capture")
    p.add_argument("--name", default=None, help="recording name (metadata for the cloud)")
    p.add_argument("--upload", action="store_true", help="then upload it until completed")
    p.set_defaults(handler=_record)


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"--duration must be > 0 and <= 86400 seconds, got {text}")
    return value


def _record(args: argparse.Namespace) -> int:
    from device.capture import from_config  # noqa: PLC0415 - keep other verbs free of capture imports

    config = load_config(args, require_api=args.upload)
    # with --upload, the token is checked before anything is captured
    with (
        _api_client(config) if args.upload else contextlib.nullcontext() as api,
        Spool.open(
            Path(config.spool.dir), max_mb=config.spool.max_mb, reserve_mb=config.spool.reserve_mb
        ) as spool,
    ):
        capture = from_config(config, spool)
        capture.poll()  # stamps media earlier runs had to leave without a valid time
        rid = capture.start({"source": "recorder record"}, args.duration, name=args.name)
        capture.wait()
        capture.stop()
        if capture.last_error is not None:
            print(f"recorder: capture failed: {capture.last_error}", file=sys.stderr)
        result = capture.result(rid)
        if args.upload:
            result["upload"] = _upload(config, spool, api, rid)
        print_json(result)
    return 1 if capture.last_error is not None else 0


def _api_client(config: Config) -> ApiClient:
    from device.cli import _wiring  # noqa: PLC0415 - only --upload needs the network parts

    return _wiring.api_client(config)


def _upload(config: Config, spool: Spool, api: ApiClient, recording_id: str) -> dict:
    from device.cli.upload import drive_to_completion  # noqa: PLC0415 - only --upload needs it

    return drive_to_completion(config, spool, api, recording_id)

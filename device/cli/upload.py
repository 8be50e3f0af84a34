"""`recorder upload FILE --type T`: the file becomes its own recording in the spool, and the worker
drives it (with every retry the daemon would make) until the recording is completed; other entries
of the spool are left to the daemon or `recorder flush`.

Validates locally first (content type, readable file), enqueues (the original is only read), then
runs the uploader oldest first until this recording is completed, and prints the completed recording
as JSON; exit 0 only then. If it is parked (a 400, a revoked token, a torn file) the reason is
printed and the exit status is 2; the file stays in the spool (`recorder flush --retry-parked`).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from device import clock, contract
from device.api import ApiClient
from device.cli import _wiring
from device.cli.common import load_config, print_json
from device.config import Config
from device.errors import RecorderError
from device.spool import Spool
from device.upload_steps import InvalidMedia, describe_file


class UploadParked(RecorderError):
    """The recording cannot be completed without help; its file is kept in the spool."""

    def __init__(self, recording_id: str, reasons: list[str]) -> None:
        self.recording_id = recording_id
        self.reasons = reasons
        super().__init__(
            f"recording {recording_id} is parked ({'; '.join(reasons)}); the file stays in the "
            "spool: fix the cause, then `recorder flush --retry-parked`"
        )


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("upload", help="upload one file as its own recording (through the spool)")
    p.add_argument("file", help="the media file (never modified)")
    p.add_argument("--type", required=True, choices=tuple(contract.MEDIA_CONTENT_TYPES))
    p.add_argument("--content-type", default=None, help="MIME type (default by --type)")
    p.add_argument("--captured-at", default=None, help="ISO 8601 time (default: file mtime)")
    p.set_defaults(handler=_upload)


def _upload(args: argparse.Namespace) -> int:
    media = describe_file(args.file, args.type, args.content_type, _captured_at(args))
    config = load_config(args)
    with _wiring.open_spool(config) as spool, _wiring.api_client(config) as api:
        recording_id, _ = spool.enqueue(
            media.path,
            type=media.type,
            content_type=media.content_type,
            captured_at=clock.utc_iso(media.captured_at),
        )
        print_json(drive_to_completion(config, spool, api, recording_id))
    return 0


def drive_to_completion(config: Config, spool: Spool, api: ApiClient, recording_id: str) -> dict:
    """Run the uploader (bounded retries) until this recording is completed; return the server's
    recording. Raises UploadParked, the file kept in the spool, when it cannot be completed."""
    # bounded: a retry budget spent parks the file (kept in the spool) and the command ends
    worker = _wiring.uploader(config, spool, api, bounded=True)
    worker.only_recording = recording_id  # other spool entries are the daemon's (or flush's)
    worker.lift_auth_park()  # an explicit upload tries the (perhaps new) token at once
    worker.drain(until=lambda: _finished(worker, recording_id))
    row = spool.recording(recording_id)
    if row["state"] != "completed":
        raise UploadParked(recording_id, _reasons(worker, recording_id))
    return json.loads(row["server_reply"] or "{}")


def _finished(worker, recording_id: str) -> bool:
    return worker.spool.recording(recording_id)["state"] == "completed" or bool(
        _reasons(worker, recording_id)
    )


def _reasons(worker, recording_id: str) -> list[str]:
    return [
        f"{p['kind']} {p['id']}: {p['reason']}"
        for p in worker.parked()
        if p["recording_id"] in (recording_id, None)
    ]


def _captured_at(args: argparse.Namespace) -> datetime | None:
    if not args.captured_at:
        return None
    try:
        return clock.parse_iso(args.captured_at)
    except ValueError as exc:
        raise InvalidMedia(args.file, f"--captured-at {args.captured_at!r}: {exc}") from None

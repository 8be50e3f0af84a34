"""`recorder enqueue FILE --type T`: copy a file into the spool; nothing is uploaded here."""

from __future__ import annotations

import argparse
from pathlib import Path

from device.cli._wiring import open_spool
from device.cli.common import load_config, print_json
from device.config import MEDIA_TYPES


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("enqueue", help="add a file to the spool (the original is never altered)")
    p.add_argument("file", type=Path)
    p.add_argument("--type", required=True, choices=MEDIA_TYPES)
    p.add_argument("--content-type", default=None, help="MIME type (default by type)")
    p.add_argument("--captured-at", default=None, help="ISO 8601 time (default: file mtime)")
    p.add_argument("--recording", default=None, help="local recording id to add the file to")
    p.set_defaults(handler=_enqueue)


def _enqueue(args: argparse.Namespace) -> int:
    config = load_config(args, require_api=False)
    with open_spool(config, owner=False) as spool:
        recording_id, media_id = spool.enqueue(
            args.file,
            type=args.type,
            content_type=args.content_type,
            captured_at=args.captured_at,
            recording_id=args.recording,
        )
        media = spool.media(media_id)
    print_json(
        {
            "recording": recording_id,
            "media": media_id,
            "size": media["size"],
            "md5": media["md5"],
            "captured_at": media["captured_at"],
        }
    )
    return 0

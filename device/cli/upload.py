"""`recorder upload FILE --type T`: the file becomes its own recording, uploaded and completed.

In-process for now (the spool will take this over): validates the content type locally, then
create recording -> upload URL -> PUT -> complete with every retry the daemon would make. Prints
the completed recording as JSON; exit 0 only when the server confirmed completion.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from device import api, clock, contract, vault
from device.cli.common import load_config, print_json
from device.retry import RetryPolicy
from device.upload_steps import InvalidMedia, TransferSettings, describe_file, upload_file


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("upload", help="upload one file as its own recording")
    p.add_argument("file", help="the media file (never modified)")
    p.add_argument("--type", required=True, choices=tuple(contract.MEDIA_CONTENT_TYPES))
    p.add_argument("--content-type", default=None, help="MIME type (default by --type)")
    p.add_argument("--captured-at", default=None, help="ISO 8601 time (default: file mtime)")
    p.set_defaults(handler=_upload)


def _upload(args: argparse.Namespace) -> int:
    media = describe_file(args.file, args.type, args.content_type, _captured_at(args))
    config = load_config(args)
    store = vault.from_config(config.api)
    store.open()  # fail now, clearly, when there is no token or it does not open
    with api.from_config(config.api, store.token) as client:
        recording = upload_file(
            client,
            media,
            TransferSettings.from_config(config),
            RetryPolicy.from_config(config.upload),
            margin_s=config.upload.url_expiry_margin_s,
        )
    print_json(dict(recording.raw))
    return 0


def _captured_at(args: argparse.Namespace) -> datetime | None:
    if not args.captured_at:
        return None
    try:
        return clock.parse_iso(args.captured_at)
    except ValueError as exc:
        raise InvalidMedia(args.file, f"--captured-at {args.captured_at!r}: {exc}") from None

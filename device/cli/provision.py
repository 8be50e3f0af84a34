"""`recorder provision`: read the device token on stdin and seal it into `api.token_file`."""

from __future__ import annotations

import argparse
import sys

from device import redact, vault
from device.cli.common import load_config
from device.errors import RecorderError


class ProvisionError(RecorderError, ValueError):
    """The token given on stdin is unusable (empty, several words)."""


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("provision", help="seal the device token read on stdin")
    p.add_argument("--device-id", default=None, help="the device id the token belongs to")
    p.set_defaults(handler=_provision)


def _provision(args: argparse.Namespace) -> int:
    config = load_config(args, require_api=False)
    token = read_token(sys.stdin.read())
    store = vault.from_config(config.api)
    store.seal(token, device_id=args.device_id)
    print(f"token sealed in {store.path} (key: {store.keys.describe()})")
    return 0


def read_token(text: str) -> str:
    """The one token on stdin (surrounding whitespace ignored); registered for redaction."""
    token = text.strip()
    if not token:
        raise ProvisionError("no token on stdin (pipe it in: recorder provision < token.txt)")
    if any(ch.isspace() for ch in token):
        raise ProvisionError("stdin holds more than one word; give the token alone")
    redact.register_secret(token)
    return token

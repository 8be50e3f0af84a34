"""Logging for the agent and the CLI: stderr in a journald-friendly format, secrets redacted."""

from __future__ import annotations

import logging
import os
import sys

from device import redact


def configure(level: str = "INFO") -> None:
    """One stderr handler on the root logger; no timestamps when journald adds its own."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    under_journald = bool(os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"))
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not under_journald:
        fmt = "%(asctime)s " + fmt
    handler.setFormatter(logging.Formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level.upper())
    redact.install(root)

"""Logging for the agent and the CLI: stderr in a journald-friendly format, an optional size-capped
rotating file (flash is small and wears), secrets redacted on every handler."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

from device import redact
from device.errors import RecorderError

LINE_FORMAT = "%(levelname)s %(threadName)s %(name)s: %(message)s"
STAMPED_FORMAT = "%(asctime)s " + LINE_FORMAT


class LogFileError(RecorderError, OSError):
    """The configured log file cannot be opened (names the path and why)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"log.file {path!r}: cannot open: {reason}")
        self.path = path


def under_journald() -> bool:
    """True when systemd runs us (it timestamps each line itself)."""
    return bool(os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"))


def configure(level: str = "INFO", file: str = "", max_kib: int = 1024, backups: int = 3) -> None:
    """One stderr handler on the root logger (no timestamps under journald), plus a file if asked."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter(LINE_FORMAT if under_journald() else STAMPED_FORMAT))
    root.addHandler(stderr)
    if file:
        root.addHandler(file_handler(file, max_kib, backups))
    root.setLevel(level.upper())
    redact.install(root)


def file_handler(path: str, max_kib: int, backups: int) -> logging.Handler:
    """A rotating file: at most `max_kib` KiB per file and `backups` old files, each mode 0600."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if backups == 0:
            handler: logging.Handler = _TruncatingHandler(path, max_kib * 1024)
        else:
            handler = _PrivateRotatingHandler(path, max_kib * 1024, backups)
    except OSError as exc:
        raise LogFileError(path, exc.strerror or str(exc)) from exc
    handler.setFormatter(logging.Formatter(STAMPED_FORMAT))
    return handler


def _open_private(path: str) -> object:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    return open(fd, "a", encoding="utf-8")  # noqa: SIM115 - the handler owns and closes it


class _PrivateRotatingHandler(logging.handlers.RotatingFileHandler):
    """RotatingFileHandler whose files (the new one after each rotation too) are mode 0600."""

    def __init__(self, path: str, max_bytes: int, backups: int) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")

    def _open(self):  # type: ignore[override]
        return _open_private(self.baseFilename)


class _TruncatingHandler(logging.FileHandler):
    """With no backups wanted: start the file over when it would pass the cap."""

    def __init__(self, path: str, max_bytes: int) -> None:
        super().__init__(path, encoding="utf-8")
        self.max_bytes = max_bytes

    def _open(self):  # type: ignore[override]
        return _open_private(self.baseFilename)

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is not None and self.stream.tell() >= self.max_bytes:
            self.stream.seek(0)
            self.stream.truncate()
        super().emit(record)

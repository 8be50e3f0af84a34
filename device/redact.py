"""Keep secrets out of logs and errors: device tokens, API keys, bearer headers, URL signatures.

`redact()` is applied at the logging root (a filter on every handler and on record creation) and by
error types that carry a URL or a reply. `safe_url()` drops a URL's query string entirely.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_PATTERNS = (
    (re.compile(r"\b(dtok_|sk_live_|sk_test_)[A-Za-z0-9_\-\.]+"), r"\1" + MASK),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9_\-\.~+/=]+"), r"\1 " + MASK),
    (
        re.compile(
            r"(?i)\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|"
            r"AWSAccessKeyId)(=|%3D)[^&\s\"'<>]+"
        ),
        r"\1\2" + MASK,
    ),
    (re.compile(r"(?i)(\"device_token\"\s*:\s*\")[^\"]+"), r"\1" + MASK),
)
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Mask this exact string too (a token without a known prefix, a key read at run time)."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return text with every known secret form masked."""
    if not text:
        return text
    for secret in tuple(_secrets):
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def safe_url(url: str) -> str:
    """The URL without its query string (a presigned URL's query is a bearer credential)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    query = MASK if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class RedactingFilter(logging.Filter):
    """Formats the message, masks secrets in it and in any traceback, and keeps the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        return True


def _scrub(record: logging.LogRecord) -> None:
    if getattr(record, "_redacted", False):
        return
    try:
        message = record.getMessage()
    except (TypeError, ValueError) as exc:
        message = f"{record.msg!r} (bad log arguments: {exc})"
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._redacted = True


_base_factory = logging.getLogRecordFactory()


def _factory(*args: object, **kwargs: object) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    _scrub(record)
    return record


def install(root: logging.Logger | None = None) -> None:
    """Put the filter on every handler of the root logger and scrub records as they are made."""
    root = root or logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    logging.setLogRecordFactory(_factory)

"""Secrets never reach a log line: tokens, bearer headers, presigned URL signatures."""

from __future__ import annotations

import io
import logging

from device import redact

URL = (
    "https://s3.example/bucket/rec/med.opus?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAXX%2F20261204%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Signature=0123456789abcdef0123456789abcdef"
)


def test_patterns_masked():
    text = redact.redact(f"token dtok_abcDEF123 header Bearer dtok_zzz url {URL}")
    assert "abcDEF123" not in text and "zzz" not in text
    assert "0123456789abcdef" not in text and "AKIAXX" not in text
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in text


def test_registered_secret_masked():
    redact.register_secret("plain-secret-value")
    assert "plain-secret-value" not in redact.redact("x plain-secret-value y")


def test_safe_url_drops_query():
    assert redact.safe_url(URL) == "https://s3.example/bucket/rec/med.opus?***"
    assert redact.safe_url("http://h/p") == "http://h/p"


def test_logging_root_filter_masks_args_and_tracebacks():
    stream = io.StringIO()
    logger = logging.getLogger("test.redact")
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        redact.install(root)
        logger.warning("PUT %s with %s", URL, "Bearer dtok_secret1")
        try:
            raise ValueError("bad token dtok_secret2")
        except ValueError:
            logger.exception("failed")
    finally:
        root.removeHandler(handler)
    out = stream.getvalue()
    assert "secret1" not in out and "secret2" not in out and "0123456789abcdef" not in out
    assert "PUT https://s3.example/bucket/rec/med.opus" in out

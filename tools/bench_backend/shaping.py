"""Malformed replies for fault injection: broken JSON, HTML pages, missing or mistyped fields."""

from __future__ import annotations

import json
from typing import Any

from tools.bench_backend.faults import ServedFault
from tools.bench_backend.replies import DEFAULT_CODES, Reply, error_reply

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>{status} Error</title></head>"
    "<body><h1>{status} Error</h1><p>The upstream server is temporarily unavailable.</p>"
    "<hr><address>nginx</address></body></html>"
)


def pre_work_reply(fault: ServedFault) -> Reply | None:
    """The reply of a fault that answers before any work is done, else None."""
    kind = fault.rule.kind
    if kind == "status":
        status = fault.param("status")
        code = fault.param("code") or DEFAULT_CODES.get(status, "error")
        reply = error_reply(status, f"injected fault: {status}", code)
        if fault.param("retry_after") is not None:
            reply.headers["Retry-After"] = str(fault.param("retry_after"))
        return reply
    if kind == "html":
        status = fault.param("status")
        page = HTML_PAGE.format(status=status).encode()
        return Reply(status, page, {"Content-Type": "text/html; charset=utf-8"})
    return None


def reshape(reply: Reply, fault: ServedFault) -> Reply:
    """Spoil a finished reply as the fault asks (after the work is done)."""
    kind = fault.rule.kind
    if kind == "broken_json":
        text = json.dumps(reply.body).encode()
        return Reply(fault.param("status"), text[: max(1, len(text) // 2)], reply.headers)
    if kind == "empty":
        return Reply(fault.param("status"), b"", reply.headers)
    if kind in ("missing_field", "mistyped_field") and isinstance(reply.body, dict):
        body = dict(reply.body)
        name = fault.param("field")
        if kind == "missing_field":
            body.pop(name, None)
        else:
            body[name] = mistype(body.get(name))
        return Reply(reply.status, body, reply.headers)
    return reply


def mistype(value: Any) -> Any:
    """A value of another JSON type than `value`."""
    if isinstance(value, str):
        return 12345
    if isinstance(value, bool | int | float):
        return "not-a-number"
    if isinstance(value, list | dict):
        return "not-a-container"
    return {"unexpected": True}

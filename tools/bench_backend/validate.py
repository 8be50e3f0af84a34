"""Validation of device request bodies against the contract; errors name the field."""

from __future__ import annotations

from typing import Any

from device.clock import parse_iso, utc_iso
from device.contract import (
    COMMAND_MAX_DURATION_DEFAULT,
    COMMAND_MAX_DURATION_RANGE,
    COMMAND_TYPES,
    CONNECTION_TYPES,
    DEFAULT_CONTENT_TYPE,
    DEVICE_STATES,
    HEARTBEAT_NUMBER_FIELDS,
    HEARTBEAT_RESULTS_FIELD,
    HEARTBEAT_STRING_FIELDS,
    MEDIA_CONTENT_TYPES,
)
from tools.bench_backend.replies import invalid

MAX_NAME_LENGTH = 255
MAX_SINGLE_PUT_BYTES = 5 * 1024**3  # S3's limit for one PUT
RESULT_STATUSES = ("executed", "failed")


def require_object(body: Any, what: str = "body") -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise invalid(what, f"must be a JSON object, got {type(body).__name__}")
    return body


def timestamp(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    """An ISO 8601 time with a zone, returned normalised to UTC with millis and Z."""
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(name, "is required (ISO 8601 with a time zone)")
        return None
    if not isinstance(value, str):
        raise invalid(name, "must be an ISO 8601 string")
    try:
        return utc_iso(parse_iso(value))
    except ValueError as exc:
        raise invalid(name, f"not an ISO 8601 time with a zone: {value!r} ({exc})") from exc


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def create_recording(body: Any) -> dict[str, Any]:
    body = require_object(body)
    for forbidden in ("device_id", "end_user_id"):
        if forbidden in body:
            raise invalid(forbidden, "must not be sent with a device token (taken from the token)")
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME_LENGTH):
        raise invalid("name", f"must be a string of at most {MAX_NAME_LENGTH} characters")
    started = timestamp(body, "started_at", required=True)
    ended = timestamp(body, "ended_at")
    if ended is not None and parse_iso(ended) < parse_iso(started):
        raise invalid("ended_at", "is before started_at")
    metadata = body.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise invalid("metadata", "must be a JSON object")
    return {"name": name, "started_at": started, "ended_at": ended, "metadata": metadata}


def upload_url(body: Any) -> dict[str, Any]:
    body = require_object(body)
    media_type = body.get("type")
    if media_type not in MEDIA_CONTENT_TYPES:
        raise invalid("type", f"must be one of {list(MEDIA_CONTENT_TYPES)}, got {media_type!r}")
    content_type = body.get("content_type", DEFAULT_CONTENT_TYPE[media_type])
    allowed = MEDIA_CONTENT_TYPES[media_type]
    if content_type not in allowed:
        raise invalid(
            "content_type", f"{content_type!r} is not allowed for {media_type}: {list(allowed)}"
        )
    size = body.get("file_size_bytes")
    if size is not None and (not is_int(size) or not 0 <= size <= MAX_SINGLE_PUT_BYTES):
        raise invalid("file_size_bytes", f"must be an integer 0..{MAX_SINGLE_PUT_BYTES}")
    return {
        "type": media_type,
        "content_type": content_type,
        "file_size_bytes": size,
        "captured_at": timestamp(body, "captured_at"),
    }


def heartbeat(body: Any) -> dict[str, Any]:
    body = require_object(body)
    for name, (low, high) in HEARTBEAT_NUMBER_FIELDS.items():
        _number_field(body, name, low, high, integer=name in ("status_flags", "pending_recordings"))
    for name, max_len in HEARTBEAT_STRING_FIELDS.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > max_len):
            raise invalid(name, f"must be a string of at most {max_len} characters")
    state = body.get("device_state")
    if state is not None and state not in DEVICE_STATES:
        raise invalid("device_state", f"{state!r} is not one of {list(DEVICE_STATES)}")
    kinds = body.get("connection_type")
    if kinds is not None and (
        not isinstance(kinds, list) or not all(k in CONNECTION_TYPES for k in kinds)
    ):
        raise invalid("connection_type", f"must be an array of {list(CONNECTION_TYPES)}")
    return {"results": command_results(body.get(HEARTBEAT_RESULTS_FIELD))}


def _number_field(
    body: dict[str, Any], name: str, low: float | None, high: float | None, integer: bool
) -> None:
    value = body.get(name)
    if value is None:
        return
    if not (is_int(value) if integer else is_number(value)):
        raise invalid(name, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
        raise invalid(name, f"{value} is out of range {bounds}")


def command_results(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    where = HEARTBEAT_RESULTS_FIELD
    if not isinstance(raw, list):
        raise invalid(where, "must be an array")
    results = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise invalid(f"{where}[{i}].id", "each result needs a string id")
        if item.get("status") not in RESULT_STATUSES:
            raise invalid(f"{where}[{i}].status", f"must be one of {list(RESULT_STATUSES)}")
        result = item.get("result")
        if result is not None and not isinstance(result, dict):
            raise invalid(f"{where}[{i}].result", "must be an object")
        error = item.get("error")
        if error is not None and not isinstance(error, str):
            raise invalid(f"{where}[{i}].error", "must be a string")
        results.append(item)
    return results


def command(body: Any) -> dict[str, Any]:
    """Admin: a command to queue for a device."""
    body = require_object(body)
    kind = body.get("type")
    if kind not in COMMAND_TYPES:
        raise invalid("type", f"must be one of {list(COMMAND_TYPES)}")
    params = require_object(body.get("params", {}), "params")
    low, high = COMMAND_MAX_DURATION_RANGE
    duration = params.get("max_duration_sec", COMMAND_MAX_DURATION_DEFAULT)
    if not is_int(duration) or not low <= duration <= high:
        raise invalid("params.max_duration_sec", f"must be an integer {low}..{high}")
    immediately = params.get("upload_immediately", True)
    if not isinstance(immediately, bool):
        raise invalid("params.upload_immediately", "must be true or false")
    metadata = params.get("metadata", {})
    if not isinstance(metadata, dict):
        raise invalid("params.metadata", "must be an object")
    ttl = body.get("ttl_seconds")
    if ttl is not None and (not is_number(ttl) or ttl <= 0):
        raise invalid("ttl_seconds", "must be a number > 0")
    full = {**params, "max_duration_sec": duration, "upload_immediately": immediately}
    full["metadata"] = metadata
    return {"type": kind, "params": full, "ttl_seconds": ttl}

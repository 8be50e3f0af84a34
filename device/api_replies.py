"""Typed results of the API and their validation: a reply that does not fit is a MalformedReply.

Each `from_reply` checks only the fields the device relies on and keeps the whole object in `raw`
(for printing and for fields added later). Validation never raises anything but MalformedReply.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from device import clock, redact
from device.api_errors import MalformedReply

_MISSING = object()


class _Fields:
    """Reads typed fields from one reply object; every problem names the path and the field."""

    def __init__(self, obj: Any, path: str, status: int, what: str) -> None:
        if not isinstance(obj, Mapping):
            raise MalformedReply(status, "", f"{what} is {_kind(obj)}, not an object", path)
        self.obj, self.path, self.status, self.what = obj, path, status, what

    def fail(self, name: str, problem: str) -> MalformedReply:
        return MalformedReply(self.status, "", f"{self.what}.{name} {problem}", self.path)

    def get(self, name: str, types: type | tuple[type, ...], required: bool = True) -> Any:
        value = self.obj.get(name, _MISSING)
        if value is _MISSING or (value is None and not required):
            if required:
                raise self.fail(name, "is missing")
            return None
        if isinstance(value, bool) and bool not in _as_tuple(types):
            raise self.fail(name, f"is {_kind(value)}, expected {_names(types)}")
        if not isinstance(value, types):
            raise self.fail(name, f"is {_kind(value)}, expected {_names(types)}")
        return value

    def text(self, name: str, required: bool = True) -> str | None:
        return self.get(name, str, required)

    def time(self, name: str, required: bool = True) -> datetime | None:
        value = self.text(name, required)
        if value is None:
            return None
        try:
            return clock.parse_iso(value)
        except ValueError:
            raise self.fail(name, f"is not an ISO 8601 time with a zone: {value[:40]!r}") from None


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _names(types: type | tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in _as_tuple(types))


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


@dataclass(frozen=True)
class Media:
    id: str
    type: str
    status: str
    mime_type: str | None
    file_size_bytes: int | None

    @classmethod
    def from_reply(cls, obj: Any, path: str, status: int, what: str) -> Media:
        f = _Fields(obj, path, status, what)
        return cls(
            id=f.text("id"),
            type=f.text("type"),
            status=f.text("status"),
            mime_type=f.text("mime_type", required=False),
            file_size_bytes=f.get("file_size_bytes", int, required=False),
        )


@dataclass(frozen=True)
class Recording:
    """A recording as the server sees it; `raw` is the whole reply object."""

    id: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    media: tuple[Media, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_reply(cls, obj: Any, path: str, status: int) -> Recording:
        f = _Fields(obj, path, status, "recording")
        media = f.get("media", list, required=False) or []
        return cls(
            id=f.text("id"),
            status=f.text("status"),
            started_at=f.time("started_at", required=False),
            ended_at=f.time("ended_at", required=False),
            media=tuple(
                Media.from_reply(m, path, status, f"recording.media[{i}]")
                for i, m in enumerate(media)
            ),
            raw=dict(obj),
        )


@dataclass(frozen=True)
class UploadUrl:
    """Where and how to PUT one file. `repr` hides the URL's query (a bearer credential)."""

    media_id: str
    upload_url: str = field(repr=False)
    expires_at: datetime
    headers: Mapping[str, str]

    @property
    def safe_url(self) -> str:
        return redact.safe_url(self.upload_url)

    def __repr__(self) -> str:
        return (
            f"UploadUrl(media_id={self.media_id!r}, url={self.safe_url!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, headers={dict(self.headers)!r})"
        )

    @classmethod
    def from_reply(cls, obj: Any, path: str, status: int) -> UploadUrl:
        f = _Fields(obj, path, status, "upload_url reply")
        url = f.text("upload_url")
        _check_upload_url(url, f)
        headers = f.get("headers", dict, required=False) or {}
        for name, value in headers.items():
            if not isinstance(value, str):
                raise f.fail(f"headers[{name!r}]", f"is {_kind(value)}, expected str")
        return cls(f.text("media_id"), url, f.time("expires_at"), dict(headers))


def _check_upload_url(url: str, f: _Fields) -> None:
    """https only; plain http only for a loopback host (the bench)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise f.fail("upload_url", "is not a URL") from None
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and _is_loopback(host):
        return
    raise f.fail("upload_url", f"must be https (http only on loopback): {redact.safe_url(url)}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HeartbeatReply:
    status: str | None
    commands: tuple[Mapping[str, Any], ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_reply(cls, obj: Any, path: str, status: int, commands_field: str) -> HeartbeatReply:
        f = _Fields(obj, path, status, "heartbeat reply")
        commands = f.get(commands_field, list, required=False) or []
        for i, cmd in enumerate(commands):
            if not isinstance(cmd, Mapping):
                raise f.fail(f"{commands_field}[{i}]", f"is {_kind(cmd)}, expected object")
        return cls(f.text("status", required=False), tuple(commands), dict(obj))


def token_from_reply(obj: Any, path: str, status: int) -> str:
    f = _Fields(obj, path, status, "token refresh reply")
    token = f.text("device_token")
    if not token.strip():
        raise f.fail("device_token", "is empty")
    redact.register_secret(token)
    return token

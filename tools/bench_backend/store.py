"""In-memory state of the emulated cloud: devices, recordings, media, commands, heartbeats.

One lock guards it all (`Store.lock`); handlers hold it for the whole of one API call.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from device.clock import utc_iso
from device.contract import TOKEN_PREFIX_DEVICE


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def new_token() -> str:
    return TOKEN_PREFIX_DEVICE + secrets.token_urlsafe(32)


def now_iso() -> str:
    return utc_iso(time.time())


@dataclass
class Device:
    id: str
    project: str
    end_user_id: str
    token: str | None
    created_at: str
    bound: bool = True
    token_revoked_at: str | None = None
    last_heartbeat_at: str | None = None

    def public(self) -> dict[str, Any]:
        """The admin view; never the token."""
        view = asdict(self)
        view.pop("token")
        view["has_token"] = self.token is not None
        return view


@dataclass
class Media:
    id: str
    recording_id: str
    type: str
    mime_type: str
    file_size_bytes: int | None
    captured_at: str | None
    created_at: str
    key: str
    url_expires_at: str
    status: str = "pending"
    object_size: int | None = None
    object_md5: str | None = None
    problem: str | None = None

    def public(self) -> dict[str, Any]:
        keys = ("id", "type", "mime_type", "file_size_bytes", "status", "captured_at", "created_at")
        return {k: getattr(self, k) for k in keys}


@dataclass
class Recording:
    id: str
    device_id: str
    end_user_id: str
    name: str | None
    started_at: str
    ended_at: str | None
    metadata: dict[str, Any]
    created_at: str
    status: str = "pending"
    duration_ms: int | None = None
    completed_at: str | None = None
    media: list[Media] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "device_id": self.device_id,
            "end_user_id": self.end_user_id,
            "name": self.name,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "transcription_id": None,
            "media": [m.public() for m in self.media],
            "metadata": self.metadata,
            "created_at": self.created_at,
        }

    def admin(self) -> dict[str, Any]:
        view = self.public()
        view["completed_at"] = self.completed_at
        view["media"] = [asdict(m) for m in self.media]
        return view


@dataclass
class Command:
    id: str
    device_id: str
    type: str
    params: dict[str, Any]
    grant_token: str
    expires_at: str
    expires_ts: float
    created_at: str
    status: str = "pending"
    result: dict[str, Any] | None = None
    error: str | None = None
    delivered_at: str | None = None
    executed_at: str | None = None
    deliveries: int = 0

    def refresh_expiry(self, now: float) -> None:
        if self.status in ("pending", "delivered") and now >= self.expires_ts:
            self.status = "expired"

    def public(self) -> dict[str, Any]:
        view = asdict(self)
        view.pop("expires_ts")
        view.pop("deliveries")
        return view


@dataclass
class Store:
    """Everything the emulated cloud holds."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    devices: dict[str, Device] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # current token -> device id
    recordings: dict[str, Recording] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    unknown_results: list[dict[str, Any]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    calls_by_device: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    s3_requests: list[dict[str, Any]] = field(default_factory=list)

    def add_device(self, project: str) -> Device:
        device = Device(new_id("dev"), project, new_id("usr"), new_token(), now_iso())
        self.devices[device.id] = device
        self.tokens[device.token] = device.id
        return device

    def revoke_token(self, device: Device) -> None:
        if device.token:
            self.tokens.pop(device.token, None)
        device.token = None
        device.token_revoked_at = now_iso()

    def issue_token(self, device: Device) -> str:
        self.revoke_token(device)
        device.token = new_token()
        device.token_revoked_at = None
        self.tokens[device.token] = device.id
        return device.token

    def count_call(self, endpoint: str, device_id: str | None) -> None:
        self.calls[endpoint] += 1
        if device_id:
            self.calls_by_device[device_id][endpoint] += 1

    def snapshot(self, device_id: str | None = None) -> dict[str, Any]:
        """The admin view of everything (or of one device), safe to serialise."""

        def mine(owner: str | None) -> bool:
            return device_id is None or owner == device_id

        now = time.time()
        for command in self.commands.values():
            command.refresh_expiry(now)
        return {
            "devices": {i: d.public() for i, d in self.devices.items() if mine(i)},
            "recordings": {i: r.admin() for i, r in self.recordings.items() if mine(r.device_id)},
            "commands": {i: c.public() for i, c in self.commands.items() if mine(c.device_id)},
            "heartbeats": [h for h in self.heartbeats if mine(h["device_id"])],
            "unknown_command_results": [u for u in self.unknown_results if mine(u["device_id"])],
            "calls": dict(self.calls)
            if device_id is None
            else dict(self.calls_by_device.get(device_id, {})),
            "calls_by_device": {d: dict(c) for d, c in self.calls_by_device.items() if mine(d)},
            "s3_requests": [s for s in self.s3_requests if mine(s.get("device_id"))],
        }

"""Idempotency keys: per project, kept 24 h; a repeat replays the first (2xx) reply.

A key is bound to its first request's fingerprint (device, method, path, canonical body); the
same key with another fingerprint is refused with 422 `idempotency_key_reused`. Only successful
replies are stored, so a call refused by validation or a 5xx can be retried with the same key.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from device.contract import IDEMPOTENCY_KEY_RE, IDEMPOTENCY_TTL_SECONDS
from tools.bench_backend.replies import ApiError, Reply

HEADER = "Idempotency-Key"


def validate_key(key: str) -> str:
    if not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise ApiError(
            400,
            f"{HEADER}: must be 1-255 letters, digits, '-' or '_'",
            "invalid_request",
            {"field": HEADER},
        )
    return key


def fingerprint(device_id: str, method: str, path: str, body: Any) -> str:
    canonical = json.dumps([device_id, method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class _Entry:
    fingerprint: str
    reply: Reply
    stored_at: float


class IdempotencyStore:
    def __init__(self, ttl_seconds: float = IDEMPOTENCY_TTL_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def lookup(self, project: str, key: str, print_: str) -> Reply | None:
        """The stored reply for a repeat; None for a new key; ApiError 422 for a reused key."""
        with self._lock:
            entry = self._entries.get((project, key))
            if entry and time.time() - entry.stored_at > self.ttl_seconds:
                del self._entries[(project, key)]
                entry = None
        if entry is None:
            return None
        if entry.fingerprint != print_:
            raise ApiError(
                422,
                f"{HEADER} was already used with another request (other body, path or device)",
                "idempotency_key_reused",
                {"field": HEADER},
            )
        replay = copy.deepcopy(entry.reply)
        replay.headers["Idempotent-Replayed"] = "true"
        return replay

    def store(self, project: str, key: str, print_: str, reply: Reply) -> None:
        if 200 <= reply.status < 300:
            with self._lock:
                self._entries[(project, key)] = _Entry(print_, copy.deepcopy(reply), time.time())

    def __len__(self) -> int:
        return len(self._entries)

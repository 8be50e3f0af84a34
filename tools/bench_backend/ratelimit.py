"""Per-project fixed-window rate limits: all calls (100/window) and upload URLs (30/window).

A window starts at a project's first call and lasts `window_seconds`; `X-RateLimit-Reset` is
its end in Unix seconds. A refused call (429) does not consume the budget.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field, replace

from device.contract import (
    RATE_LIMIT_ALL_PER_WINDOW,
    RATE_LIMIT_UPLOAD_URL_PER_WINDOW,
    RATE_LIMIT_WINDOW_SECONDS,
)

UPLOAD_URL_BUCKET = "upload_url"
ALL_BUCKET = "all"


@dataclass(frozen=True)
class RateLimitPolicy:
    window_seconds: float = RATE_LIMIT_WINDOW_SECONDS
    calls: int = RATE_LIMIT_ALL_PER_WINDOW
    upload_urls: int = RATE_LIMIT_UPLOAD_URL_PER_WINDOW

    def limit(self, bucket: str) -> int:
        return self.upload_urls if bucket == UPLOAD_URL_BUCKET else self.calls


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }

    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))


@dataclass
class _Window:
    started: float
    used: dict[str, int] = field(default_factory=dict)


class RateLimiter:
    """Counts calls per project; `check()` consumes one call of each bucket the call belongs to."""

    def __init__(self, default: RateLimitPolicy) -> None:
        self.default = default
        self._policies: dict[str, RateLimitPolicy] = {}
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def policy(self, project: str) -> RateLimitPolicy:
        return self._policies.get(project, self.default)

    def configure(self, project: str | None, **changes: float) -> RateLimitPolicy:
        """Change one project's policy (or the default with project None) and restart its window."""
        with self._lock:
            if project is None:
                self.default = replace(self.default, **changes)
                self._windows.clear()
                return self.default
            policy = replace(self.policy(project), **changes)
            self._policies[project] = policy
            self._windows.pop(project, None)
            return policy

    def check(self, project: str | None, is_upload_url: bool) -> Verdict:
        """Consume one call for `project` if allowed; the verdict gives the header values."""
        now = time.time()
        if project is None:
            policy = self.default
            return Verdict(True, policy.calls, policy.calls, now + policy.window_seconds)
        buckets = [ALL_BUCKET] + ([UPLOAD_URL_BUCKET] if is_upload_url else [])
        with self._lock:
            policy = self.policy(project)
            window = self._window(project, policy, now)
            reset_at = window.started + policy.window_seconds
            allowed = all(window.used.get(b, 0) < policy.limit(b) for b in buckets)
            if allowed:
                for bucket in buckets:
                    window.used[bucket] = window.used.get(bucket, 0) + 1
            shown = buckets[-1]  # the tighter bucket for upload URLs
            remaining = max(0, policy.limit(shown) - window.used.get(shown, 0))
            if not allowed:
                remaining = 0
            return Verdict(allowed, policy.limit(shown), remaining, reset_at)

    def _window(self, project: str, policy: RateLimitPolicy, now: float) -> _Window:
        window = self._windows.get(project)
        if window is None or now >= window.started + policy.window_seconds:
            window = _Window(now)
            self._windows[project] = window
        return window

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "default": asdict(self.default),
                "projects": {p: asdict(pol) for p, pol in self._policies.items()},
                "windows": {
                    p: {"started": w.started, "used": dict(w.used)}
                    for p, w in self._windows.items()
                },
            }

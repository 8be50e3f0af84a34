"""The retry policy as an immutable value: `next(error)` returns the next policy and the delay.

Modelled on urllib3's `Retry`, improved: a frozen dataclass, no sleeping and no clock inside (the
random source is injectable), so a test walks a whole retry history by hand. Errors are sorted
into kinds, each with its own budget: connect failures (the request never left: always safe to
repeat), failures after the request was sent (safe for us because every create-type call carries an
Idempotency-Key), retryable statuses, malformed replies (a captive portal, a broken proxy) and
expired upload URLs (renewed at once). Everything else is an error retrying cannot fix: `GiveUp`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from device.api_errors import (
    ApiError,
    ConnectFailed,
    EtagMismatch,
    MalformedReply,
    S3Error,
    TlsError,
    TransportError,
    UrlExpired,
)
from device.errors import RecorderError

CONNECT, SENT, STATUS, MALFORMED, EXPIRED = "connect", "sent", "status", "malformed", "expired"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class GiveUp(RecorderError):
    """Retrying cannot fix `error` (or its budget is spent); `error` is the last failure."""

    def __init__(self, error: BaseException, why: str) -> None:
        self.error = error
        self.why = why
        super().__init__(f"{why}: {error}")


@dataclass(frozen=True)
class Attempt:
    """One failed attempt in the history: its kind, the error's text and the delay chosen."""

    kind: str
    error: str
    delay_s: float


@dataclass(frozen=True)
class RetryPolicy:
    """Budgets are numbers of failures allowed (None: unlimited); `history` lists the failures."""

    base_s: float = 1.0
    max_s: float = 300.0
    retry_after_cap_s: float = 900.0
    total: int | None = None
    connect: int | None = None
    sent: int | None = None
    status: int | None = None
    malformed: int | None = 5
    expired: int | None = 10
    statuses: frozenset[int] = RETRY_STATUSES
    history: tuple[Attempt, ...] = ()
    rand: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    @classmethod
    def from_config(cls, upload: Any, **overrides: Any) -> RetryPolicy:
        """From the `[upload]` section: retry_base_s, retry_max_s, retry_after_cap_s."""
        values = {
            "base_s": upload.retry_base_s,
            "max_s": upload.retry_max_s,
            "retry_after_cap_s": upload.retry_after_cap_s,
        }
        values.update(overrides)
        return cls(**values)

    def kind(self, error: BaseException) -> str | None:
        """Which budget an error spends, or None when retrying cannot fix it."""
        if isinstance(error, TlsError):
            return None  # a certificate that does not verify stays so: say it clearly
        if isinstance(error, ConnectFailed):
            return CONNECT
        if isinstance(error, TransportError | EtagMismatch):
            return SENT
        if isinstance(error, UrlExpired):
            return EXPIRED
        if isinstance(error, MalformedReply):
            return MALFORMED
        if isinstance(error, ApiError | S3Error) and error.status in self.statuses:
            return STATUS
        return None

    def count(self, kind: str) -> int:
        return sum(1 for a in self.history if a.kind == kind)

    def backoff_s(self, failures: int) -> float:
        """Full jitter: uniform in [0, min(max_s, base_s * 2**(failures-1))]."""
        ceiling = min(self.max_s, self.base_s * 2 ** min(max(failures - 1, 0), 60))
        return self.rand() * ceiling

    def delay_s(self, error: BaseException, kind: str, failures: int) -> float:
        """The server's wait (capped) when it named one, else the jittered backoff; 0 to renew."""
        if kind == EXPIRED:
            return 0.0
        wait = getattr(error, "retry_after_s", None)
        if wait is not None:
            return min(max(wait, 0.0), self.retry_after_cap_s)
        return self.backoff_s(failures)

    def next(self, error: BaseException) -> tuple[RetryPolicy, float]:
        """The policy after this failure and the delay before the next attempt; GiveUp if none."""
        kind = self.kind(error)
        if kind is None:
            raise GiveUp(error, "not retryable") from error
        budget = getattr(self, kind)
        if budget is not None and self.count(kind) >= budget:
            raise GiveUp(error, f"gave up after {self.count(kind) + 1} {kind} failures") from error
        if self.total is not None and len(self.history) >= self.total:
            raise GiveUp(error, f"gave up after {len(self.history) + 1} failed attempts") from error
        failures = len(self.history) + 1
        delay = self.delay_s(error, kind, failures)
        attempt = Attempt(kind, str(error), delay)
        return replace(self, history=(*self.history, attempt)), delay

    def reset(self) -> RetryPolicy:
        """A fresh history (after a success), same budgets."""
        return replace(self, history=())

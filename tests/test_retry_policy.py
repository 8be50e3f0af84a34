"""RetryPolicy as a pure value: no clock, no sleeping, a scripted random source."""

from __future__ import annotations

import pytest

from device.api_errors import (
    ConnectFailed,
    EtagMismatch,
    InvalidRequest,
    MalformedReply,
    NotFound,
    RateLimited,
    ReplyLost,
    S3Error,
    ServerError,
    SignatureMismatch,
    TlsError,
    Unauthorized,
    UrlExpired,
)
from device.config import UploadConfig
from device.retry import GiveUp, RetryPolicy


def policy(**kw: object) -> RetryPolicy:
    return RetryPolicy(base_s=1.0, max_s=30.0, retry_after_cap_s=60.0, rand=lambda: 1.0, **kw)


def test_backoff_doubles_and_is_capped() -> None:
    p, delays = policy(), []
    for _ in range(8):
        p, delay = p.next(ServerError(503, "", "busy", "/recordings"))
        delays.append(delay)
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert len(p.history) == 8


def test_full_jitter_uses_the_random_source() -> None:
    p = RetryPolicy(base_s=2.0, max_s=100.0, rand=lambda: 0.25)
    p, d1 = p.next(ConnectFailed("http://x/", "refused"))
    p, d2 = p.next(ConnectFailed("http://x/", "refused"))
    assert (d1, d2) == (0.5, 1.0)


def test_policy_is_immutable_and_next_returns_a_new_one() -> None:
    p = policy()
    q, _ = p.next(ReplyLost("http://x/", "reset"))
    assert p.history == () and len(q.history) == 1
    with pytest.raises(AttributeError):
        p.base_s = 3  # type: ignore[misc]


def test_retry_after_honoured_and_capped() -> None:
    p = policy()
    _, d = p.next(RateLimited(429, "rate_limit_exceeded", "slow", "/x", retry_after_s=12.5))
    assert d == 12.5
    _, d = p.next(RateLimited(429, "rate_limit_exceeded", "slow", "/x", retry_after_s=5000))
    assert d == 60.0
    _, d = p.next(S3Error(503, "SlowDown", "slow", "http://s3/b/k?sig", retry_after_s=3))
    assert d == 3


def test_connect_and_sent_failures_have_separate_budgets() -> None:
    p = policy(connect=2, sent=1)
    p, _ = p.next(ConnectFailed("http://x/", "refused"))
    p, _ = p.next(ReplyLost("http://x/", "cut"))
    p, _ = p.next(ConnectFailed("http://x/", "refused"))
    assert (p.count("connect"), p.count("sent")) == (2, 1)
    with pytest.raises(GiveUp, match="2 sent failures"):
        p.next(ReplyLost("http://x/", "cut"))
    with pytest.raises(GiveUp, match="3 connect failures"):
        p.next(ConnectFailed("http://x/", "refused"))


def test_total_budget() -> None:
    p = policy(total=2)
    p, _ = p.next(ServerError(500, "", "", "/x"))
    p, _ = p.next(ConnectFailed("http://x/", "refused"))
    with pytest.raises(GiveUp) as info:
        p.next(ServerError(500, "", "", "/x"))
    assert isinstance(info.value.error, ServerError)


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequest(400, "invalid_request", "bad", "/x"),
        Unauthorized(401, "unauthorized", "no", "/x"),
        NotFound(404, "not_found", "gone", "/x"),
        ServerError(501, "", "not implemented", "/x"),
        SignatureMismatch(403, "SignatureDoesNotMatch", "sig", "http://s3/b/k?q"),
        TlsError("https://x/", "certificate verify failed"),
        ValueError("not ours"),
    ],
)
def test_errors_retry_cannot_fix_give_up_at_once(error: BaseException) -> None:
    with pytest.raises(GiveUp, match="not retryable") as info:
        policy().next(error)
    assert info.value.error is error
    assert info.value.__cause__ is error


def test_expired_url_is_renewed_without_delay_within_its_budget() -> None:
    p = policy(expired=1)
    p, d = p.next(UrlExpired(403, "AccessDenied", "Request has expired", "http://s3/b/k?q"))
    assert d == 0
    with pytest.raises(GiveUp):
        p.next(UrlExpired(403, "AccessDenied", "Request has expired", "http://s3/b/k?q"))


def test_malformed_replies_and_etag_mismatches_are_bounded_retries() -> None:
    p = policy(malformed=1)
    p, _ = p.next(MalformedReply(200, "", "not JSON", "/x"))
    p, _ = p.next(EtagMismatch("http://s3/b/k?q", '"00"', "11"))
    assert p.count("sent") == 1
    with pytest.raises(GiveUp):
        p.next(MalformedReply(200, "", "not JSON", "/x"))


def test_built_from_config_and_reset() -> None:
    up = UploadConfig(retry_base_s=0.5, retry_max_s=8.0, retry_after_cap_s=20.0)
    p = RetryPolicy.from_config(up, total=3)
    assert (p.base_s, p.max_s, p.retry_after_cap_s, p.total) == (0.5, 8.0, 20.0, 3)
    q, _ = p.next(ServerError(502, "", "", "/x"))
    assert q.reset().history == ()

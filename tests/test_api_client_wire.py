"""ApiClient reply mapping against a scripted peer on 127.0.0.1 (real sockets, real HTTP).

The scripted peer plays exact replies (a 429 with headers, a body over the cap); the same client
against the real bench backend and its faults is in test_upload_backend.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from device.api import ApiClient, retry_after_s
from device.api_errors import (
    Conflict,
    ConnectFailed,
    Forbidden,
    InvalidRequest,
    MalformedReply,
    NotFound,
    RateLimited,
    ServerError,
    TlsError,
    Unauthorized,
)

TOKEN = "dtok_wire_test_secret_123456"
NOW = datetime(2026, 12, 4, 16, 40, tzinfo=UTC)
DATE = "Fri, 04 Dec 2026 16:40:00 GMT"
REC = {"id": "rec_1", "status": "pending", "media": [], "started_at": "2026-12-04T16:00:00.000Z"}


def api(peer, **kw) -> ApiClient:
    return ApiClient(peer.url + "/v1", TOKEN, read_timeout=5, **kw)


def create(client: ApiClient):
    return client.create_recording(started_at=NOW, ended_at=NOW, idempotency_key="key-1")


def test_request_carries_auth_key_agent_and_json(scripted_peer):
    scripted_peer.reply_with("201 Created", {"Date": DATE}, json.dumps(REC).encode())
    rec = create(api(scripted_peer))
    assert (rec.id, rec.status, rec.media) == ("rec_1", "pending", ())
    head = scripted_peer.seen[0].head
    assert head.startswith("POST /v1/recordings HTTP/1.1")
    assert f"Authorization: Bearer {TOKEN}" in head
    assert "Idempotency-Key: key-1" in head
    assert "User-Agent: recorder/" in head


def test_server_offset_from_the_date_header(scripted_peer):
    scripted_peer.reply_with("200 OK", {"Date": DATE}, json.dumps(REC).encode())
    client = api(scripted_peer)
    create(client)
    expected = NOW.timestamp() - datetime.now(UTC).timestamp()
    assert abs(client.server_offset_s - expected) < 5
    assert abs((client.server_now() - NOW).total_seconds()) < 5


@pytest.mark.parametrize(
    ("status", "cls", "builtin"),
    [
        ("400 Bad Request", InvalidRequest, ValueError),
        ("401 Unauthorized", Unauthorized, PermissionError),
        ("403 Forbidden", Forbidden, PermissionError),
        ("404 Not Found", NotFound, LookupError),
        ("409 Conflict", Conflict, Exception),
        ("500 Internal Server Error", ServerError, Exception),
        ("503 Service Unavailable", ServerError, Exception),
    ],
)
def test_status_maps_to_typed_error(scripted_peer, status, cls, builtin):
    body = {"error": {"code": "some_code", "message": f"bad things for {TOKEN}"}}
    scripted_peer.reply_with(status, {}, json.dumps(body).encode())
    with pytest.raises(cls) as info:
        create(api(scripted_peer))
    err = info.value
    assert isinstance(err, builtin)
    assert (err.status, err.code, err.path) == (int(status[:3]), "some_code", "/recordings")
    assert TOKEN not in str(err) + repr(err)


def test_rate_limited_carries_the_wait_in_server_time(scripted_peer):
    reset = int(NOW.timestamp()) + 30
    headers = {"Date": DATE, "X-RateLimit-Reset": str(reset), "Retry-After": "5"}
    scripted_peer.reply_with(
        "429 Too Many Requests", headers, b'{"error":{"code":"rate_limit_exceeded"}}'
    )
    with pytest.raises(RateLimited) as info:
        create(api(scripted_peer))
    assert info.value.retry_after_s == 30  # the later of Retry-After and the reset, vs the Date


def test_retry_after_forms():
    assert retry_after_s({"Retry-After": "7"}) == 7
    assert retry_after_s({"Retry-After": "Fri, 04 Dec 2026 16:40:10 GMT", "Date": DATE}) == 10
    assert retry_after_s({"X-RateLimit-Reset": "1", "Date": DATE}) is None  # only on a 429
    assert retry_after_s({"Retry-After": "soon"}) is None


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>captive portal</html>", "not JSON"),
        (b"", "empty reply"),
        (b"[1, 2]", "recording is list, not an object"),
        (json.dumps({"status": "pending"}).encode(), "recording.id is missing"),
        (json.dumps({"id": 7, "status": "pending"}).encode(), "recording.id is int, expected str"),
        (json.dumps({**REC, "started_at": "yesterday"}).encode(), "started_at is not an ISO 8601"),
        (
            json.dumps({**REC, "media": [{"id": "m"}]}).encode(),
            r"recording.media\[0\].type is missing",
        ),
        (b"x" * 5000, "reply over 4096 bytes"),
    ],
)
def test_malformed_replies_give_a_clear_error(scripted_peer, body, says):
    scripted_peer.reply_with("200 OK", {}, body)
    with pytest.raises(MalformedReply, match=says) as info:
        create(api(scripted_peer, max_reply_bytes=4096))
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://s3.example.com/b/k?X-Amz-Signature=ab12", True),
        ("http://127.0.0.1:9000/b/k?X-Amz-Signature=ab12", True),
        ("http://localhost:9000/b/k?X-Amz-Signature=ab12", True),
        ("http://s3.example.com/b/k?X-Amz-Signature=ab12", False),
        ("ftp://127.0.0.1/b/k", False),
    ],
)
def test_upload_url_must_be_https_except_on_loopback(scripted_peer, url, ok):
    reply = {
        "media_id": "med_1",
        "upload_url": url,
        "expires_at": "2026-12-04T17:40:00Z",
        "headers": {"Content-Type": "audio/opus"},
    }
    scripted_peer.reply_with("200 OK", {}, json.dumps(reply).encode())
    call = lambda: api(scripted_peer).get_upload_url(  # noqa: E731
        "rec_1",
        type="audio",
        content_type="audio/opus",
        file_size_bytes=3,
        captured_at=NOW,
        idempotency_key="key-2",
    )
    if ok:
        got = call()
        assert got.headers == {"Content-Type": "audio/opus"}
        assert "ab12" not in repr(got)
    else:
        with pytest.raises(MalformedReply, match="must be https") as info:
            call()
        assert "ab12" not in str(info.value)


def test_heartbeat_commands_default_to_empty_and_token_refresh(scripted_peer):
    scripted_peer.reply_with("200 OK", {}, b'{"status": "ok"}')
    assert api(scripted_peer).heartbeat({"battery_percent": 50}).commands == ()
    scripted_peer.reply_with("200 OK", {}, b'{"status": "ok", "commands": [{"id": "cmd_1"}]}')
    assert api(scripted_peer).heartbeat({}).commands == ({"id": "cmd_1"},)
    scripted_peer.reply_with("200 OK", {}, b'{"device_token": "dtok_fresh_abcdef123"}')
    assert api(scripted_peer).refresh_token("dev_1") == "dtok_fresh_abcdef123"
    assert "POST /v1/devices/dev_1/token/refresh" in scripted_peer.seen[-1].head


def test_nothing_listening_is_a_connect_failure_safe_to_repeat():
    with pytest.raises(ConnectFailed) as info:
        ApiClient("http://127.0.0.1:9/v1", TOKEN, connect_timeout=2).heartbeat({})
    assert info.value.sent is False and isinstance(info.value, ConnectionError)


def test_api_sockets_bind_to_the_source_address(scripted_peer):
    scripted_peer.reply_with("200 OK", {}, b'{"status": "ok"}')
    api(scripted_peer, source_address="127.0.0.2").heartbeat({})
    assert scripted_peer.seen[0].client == "127.0.0.2"


def test_a_certificate_that_does_not_verify_is_a_tls_error(tls_backend):
    """The system CAs do not know the bench CA: a clear, final TlsError (not retried)."""
    with pytest.raises(TlsError, match="certificate verify failed"):
        ApiClient(tls_backend.base_url, TOKEN).heartbeat({})

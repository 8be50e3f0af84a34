"""The upload path against the real bench backend and SeaweedFS (HTTP and HTTPS), no mocks.

Faults are injected by the backend itself (its fault rules); the retry policy's delays are
recorded instead of slept (the policy is a value; only the sleep function is swapped).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from device import contract
from device.api import ApiClient
from device.api_errors import InvalidRequest, MalformedReply, Unauthorized
from device.retry import GiveUp, RetryPolicy
from device.transfer import put_file
from device.upload_steps import TransferSettings, describe_file, new_idempotency_key, upload_file

FAST = RetryPolicy(base_s=0.01, max_s=0.05, retry_after_cap_s=0.2, total=12)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324


def media_file(tmp_path: Path, name: str = "seg.ogg", size: int = 300_000) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def new_device(server):
    """A device in a project of its own (the upload-URL rate limit is per project)."""
    return server.new_device(project=f"upload-{uuid.uuid4().hex[:12]}")


def client(server, device=None, **kw) -> ApiClient:
    device = device or new_device(server)
    api = ApiClient(server.base_url, device.token, ca_bundle=server.ca_file, **kw)
    api.device = device  # type: ignore[attr-defined]
    return api


def faults(server, api: ApiClient, *rules: dict) -> None:
    """Set fault rules scoped to this client's device (the backend is shared by the session)."""
    server.set_faults([{**rule, "device": api.device.id} for rule in rules])  # type: ignore[attr-defined]


def settings(server, **kw) -> TransferSettings:
    return TransferSettings(chunk_size=64 * 1024, ca_bundle=server.ca_file, **kw)


def stored(server, recording_id: str) -> list[dict]:
    """The uploaded media of one recording as the backend stored them (object size and MD5)."""
    recording = server.state()["recordings"][recording_id]
    return [
        {"size": m["object_size"], "md5": m["object_md5"]}
        for m in recording["media"]
        if m["status"] == "uploaded"
    ]


def upload(server, api: ApiClient, path: Path, sleeps: list[float] | None = None, **kw):
    media = describe_file(path, "audio", "audio/ogg")
    return upload_file(
        api,
        media,
        settings(server),
        kw.pop("policy", FAST),
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
        **kw,
    )


def test_every_endpoint(backend, tmp_path):
    path = media_file(tmp_path)
    device = new_device(backend)
    with ApiClient(backend.base_url, device.token) as api:
        now = datetime.now(UTC)
        rec = api.create_recording(
            started_at=now,
            ended_at=now,
            name="n",
            metadata={"k": 1},
            idempotency_key=new_idempotency_key(),
        )
        assert rec.status == "pending" and rec.id.startswith("rec_")
        url = api.get_upload_url(
            rec.id,
            type="audio",
            content_type="audio/ogg",
            file_size_bytes=path.stat().st_size,
            captured_at=now,
            idempotency_key=new_idempotency_key(),
        )
        assert url.media_id.startswith("med_") and url.expires_at > now
        result = put_file(url.upload_url, url.headers, path, chunk_size=64 * 1024)
        assert result.md5_hex == md5(path) and result.bytes_sent == path.stat().st_size
        done = api.complete(rec.id, idempotency_key=new_idempotency_key())
        assert done.status != "pending" and [m.id for m in done.media] == [url.media_id]
        beat = api.heartbeat({"battery_percent": 80, "device_state": "uploading"})
        assert beat.commands == ()
        assert abs(api.server_offset_s or 0) < 5
        new_token = api.refresh_token(device.id)
        assert new_token != device.token
    with pytest.raises(Unauthorized) as info:
        ApiClient(backend.base_url, device.token).heartbeat({})
    assert device.token not in str(info.value) + repr(info.value)
    ApiClient(backend.base_url, new_token).heartbeat({})
    [obj] = stored(backend, rec.id)
    assert (obj["size"], obj["md5"]) == (path.stat().st_size, md5(path))


@pytest.mark.parametrize("media_type", sorted(contract.MEDIA_CONTENT_TYPES))
def test_every_media_type_and_content_type_over_https(tls_backend, tmp_path, media_type):
    assert tls_backend.base_url.startswith("https://")
    with client(tls_backend) as api:
        for content_type in contract.MEDIA_CONTENT_TYPES[media_type]:
            path = media_file(tmp_path, content_type.replace("/", "_"), 70_000)
            media = describe_file(path, media_type, content_type)
            rec = upload_file(api, media, settings(tls_backend), FAST, sleep=lambda _s: None)
            assert [m.mime_type for m in rec.media] == [content_type]
            [obj] = stored(tls_backend, rec.id)
            assert obj["md5"] == md5(path)


def test_wrong_content_type_is_refused_before_any_network(tmp_path):
    path = media_file(tmp_path)
    with pytest.raises(ValueError, match="'video/mp4' is not allowed for audio"):
        describe_file(path, "audio", "video/mp4")
    with pytest.raises(ValueError, match="image/jpeg, image/png"):
        describe_file(path, "image", "image/gif")


FAULTS = [
    pytest.param(
        {"endpoint": "create_recording", "calls": [1], "kind": "status", "status": 503},
        id="create-503",
    ),
    pytest.param(
        {"endpoint": "create_recording", "calls": [1], "kind": "drop_after_work"},
        id="create-dropped",
    ),
    pytest.param(
        {"endpoint": "upload_url", "calls": [1], "kind": "status", "status": 429, "retry_after": 1},
        id="url-429",
    ),
    pytest.param(
        {"endpoint": "upload_url", "calls": [1], "kind": "drop_after_work"}, id="url-dropped"
    ),
    pytest.param({"endpoint": "upload_url", "calls": [1], "kind": "expired_url"}, id="url-expired"),
    pytest.param(
        {"endpoint": "upload_url", "calls": [1], "kind": "broken_json"}, id="url-broken-json"
    ),
    pytest.param({"endpoint": "upload_url", "calls": [1], "kind": "html"}, id="url-html"),
    pytest.param(
        {"endpoint": "s3_put", "calls": [1], "kind": "cut_put", "after_bytes": 100_000},
        id="put-cut",
    ),
    pytest.param({"endpoint": "s3_put", "calls": [1], "kind": "slow_down"}, id="put-slowdown"),
    pytest.param(
        {"endpoint": "complete", "calls": [1], "kind": "drop_after_work"}, id="complete-dropped"
    ),
    pytest.param(
        {"endpoint": "complete", "calls": [1], "kind": "status", "status": 500}, id="complete-500"
    ),
]


@pytest.mark.parametrize("fault", FAULTS)
def test_each_injected_fault_is_survived(backend, tmp_path, fault):
    path = media_file(tmp_path)
    before = md5(path)
    with client(backend) as api:
        faults(backend, api, fault)
        try:
            rec = upload(backend, api, path)
        finally:
            backend.clear_faults()
        state = backend.state(api.device.id)
    assert rec.status != "pending"
    [obj] = stored(backend, rec.id)
    assert obj["md5"] == before == md5(path)
    assert list(state["recordings"]) == [rec.id]  # a retried create made no duplicate
    assert [f["kind"] for f in state["faults_served"]] == [fault["kind"]]


def test_stalled_put_times_out_and_is_retried(backend, tmp_path):
    path = media_file(tmp_path)
    with client(backend) as api:
        faults(
            backend, api, {"endpoint": "s3_put", "calls": [1], "kind": "stall_put", "seconds": 5}
        )
        try:
            media = describe_file(path, "audio", "audio/ogg")
            fast = TransferSettings(chunk_size=65536, put_timeout_s=1.0, connect_timeout_s=1.0)
            rec = upload_file(api, media, fast, FAST, sleep=lambda _s: None)
        finally:
            backend.clear_faults()
    assert stored(backend, rec.id)[0]["md5"] == md5(path)


def test_url_near_expiry_is_renewed_with_a_new_key(backend, tmp_path):
    """A URL within the margin of expiry (server time) is not used after a failure."""
    path = media_file(tmp_path)
    with client(backend) as api:
        faults(backend, api, {"endpoint": "s3_put", "calls": [1], "kind": "slow_down"})
        try:
            rec = upload(backend, api, path, margin_s=2 * 3600)  # every URL is near expiry
        finally:
            backend.clear_faults()
    media = backend.state()["recordings"][rec.id]["media"]
    # a new key: the server made a second media (the same key would have replayed the first)
    assert [m["status"] for m in media] == ["pending", "uploaded"]
    assert stored(backend, rec.id)[0]["md5"] == md5(path)


def test_a_400_stops_with_a_clear_error_and_the_file_intact(backend, tmp_path):
    path = media_file(tmp_path)
    before, mtime = md5(path), path.stat().st_mtime_ns
    with client(backend) as api:
        faults(
            backend, api, {"endpoint": "upload_url", "every": True, "kind": "status", "status": 400}
        )
        try:
            with pytest.raises(GiveUp, match="not retryable") as info:
                upload(backend, api, path)
        finally:
            backend.clear_faults()
    assert isinstance(info.value.error, InvalidRequest)
    assert "400" in str(info.value) and "upload-url" in str(info.value)
    assert (md5(path), path.stat().st_mtime_ns) == (before, mtime)


MALFORMED = [
    ("broken_json", {}, "not JSON"),
    ("html", {"status": 200}, "not JSON"),  # a captive portal's page
    ("empty", {}, "empty reply"),
    ("missing_field", {"field": "upload_url"}, "upload_url is missing"),
    ("mistyped_field", {"field": "expires_at"}, "expires_at"),
    ("http_url", {}, "must be https"),
    ("huge_body", {"bytes": 2_000_000}, "reply over"),
]


@pytest.mark.parametrize(("kind", "extra", "says"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_each_malformed_reply_gives_a_clear_error(tls_backend, kind, extra, says):
    with client(tls_backend) as api:
        rec = api.create_recording(
            started_at=datetime.now(UTC), idempotency_key=new_idempotency_key()
        )
        faults(tls_backend, api, {"endpoint": "upload_url", "calls": [1], "kind": kind, **extra})
        try:
            with pytest.raises(MalformedReply, match=says) as info:
                api.get_upload_url(
                    rec.id,
                    type="audio",
                    content_type="audio/opus",
                    file_size_bytes=10,
                    captured_at=None,
                    idempotency_key=new_idempotency_key(),
                )
        finally:
            tls_backend.clear_faults()
    assert "/upload-url" in info.value.path


def test_expiry_is_judged_in_server_time(backend):
    with client(backend) as api:
        api.heartbeat({})
        assert api.server_offset_s is not None
        assert abs(api.server_now() - datetime.now(UTC)) < timedelta(seconds=5)

"""Device endpoints of the bench backend, happy paths and validation, with plain requests."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
import requests

from device.contract import HEARTBEAT_RESULTS_FIELD
from tests.backend_calls import ENDED, STARTED, call, complete, create_recording, put, upload_url
from tools.bench_backend.presign import presign_put
from tools.bench_backend.s3 import S3Credentials

ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_register_device_gives_id_and_token(backend):
    reply = backend.admin("POST", "/_admin/devices", json={"project": "p-reg"})
    assert reply.status_code == 201
    body = reply.json()
    assert body["id"].startswith("dev_") and body["device_token"].startswith("dtok_")
    assert body["device_token"] not in str(backend.state(body["id"]))  # never in the state


def test_create_recording_returns_pending_recording(backend):
    dev = backend.new_device()
    body = {"name": "desk", "started_at": "2026-12-04T11:00:00+01:00", "ended_at": ENDED}
    reply = call(backend, dev, "POST", "/recordings", json={**body, "metadata": {"a": 1}})
    assert reply.status_code == 201
    rec = reply.json()
    assert rec["id"].startswith("rec_") and rec["status"] == "pending"
    assert rec["device_id"] == dev.id and rec["end_user_id"].startswith("usr_")
    assert rec["started_at"] == STARTED and rec["ended_at"] == ENDED  # normalised to UTC Z
    assert rec["media"] == [] and rec["metadata"] == {"a": 1} and rec["duration_ms"] is None
    assert ISO_MS_Z.match(rec["created_at"])
    assert reply.headers["Date"]
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert reply.headers[name].isdigit()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "started_at"),
        ({"started_at": "2026-12-04T10:00:00"}, "started_at"),  # no zone
        ({"started_at": "yesterday"}, "started_at"),
        ({"started_at": STARTED, "ended_at": "2026-12-04T09:00:00Z"}, "ended_at"),
        ({"started_at": STARTED, "device_id": "dev_x"}, "device_id"),
        ({"started_at": STARTED, "end_user_id": "usr_x"}, "end_user_id"),
        ({"started_at": STARTED, "metadata": [1]}, "metadata"),
        ({"started_at": STARTED, "name": 5}, "name"),
        ([1, 2], "body"),
    ],
)
def test_create_recording_validation(backend, body, field):
    dev = backend.new_device()
    reply = call(backend, dev, "POST", "/recordings", json=body)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "invalid_request" and error["details"]["field"] == field
    assert field in error["message"]


def test_bad_json_body_is_400(backend):
    dev = backend.new_device()
    reply = call(backend, dev, "POST", "/recordings", data=b"{not json")
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "invalid_request"


def test_missing_or_unknown_token_is_401_with_rate_headers(backend):
    for headers in ({}, {"Authorization": "Bearer dtok_nope"}, {"Authorization": "Basic x"}):
        reply = call(backend, None, "POST", "/recordings", json={}, headers=headers)
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "unauthorized"
        assert "X-RateLimit-Limit" in reply.headers


def test_unknown_path_is_404_and_wrong_method_405(backend):
    dev = backend.new_device()
    assert call(backend, dev, "GET", "/nowhere").status_code == 404
    assert call(backend, dev, "GET", "/recordings").status_code == 405


def test_upload_url_reply_and_signed_headers(backend):
    dev = backend.new_device()
    rec = create_recording(backend, dev)
    grant = upload_url(backend, dev, rec["id"], 1234, captured_at="2026-12-04T10:00:01Z")
    assert grant["media_id"].startswith("med_")
    assert grant["upload_url"].startswith("http://127.0.0.1:")
    assert "X-Amz-Signature=" in grant["upload_url"]
    assert grant["headers"] == {"Content-Type": "audio/opus", "Content-Length": "1234"}
    assert ISO_MS_Z.match(grant["expires_at"])
    media = backend.state(dev.id)["recordings"][rec["id"]]["media"][0]
    assert media["id"] == grant["media_id"] and media["status"] == "pending"
    assert media["captured_at"] == "2026-12-04T10:00:01.000Z"


def test_upload_url_defaults_content_type_and_signs_no_length_without_size(backend):
    dev = backend.new_device()
    rec = create_recording(backend, dev)
    reply = call(
        backend, dev, "POST", f"/recordings/{rec['id']}/upload-url", json={"type": "image"}
    )
    assert reply.status_code == 200
    assert reply.json()["headers"] == {"Content-Type": "image/jpeg"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "type"),
        ({"type": "text"}, "type"),
        ({"type": "audio", "content_type": "image/png"}, "content_type"),
        ({"type": "video", "content_type": "video/webm"}, "content_type"),
        ({"type": "audio", "file_size_bytes": -1}, "file_size_bytes"),
        ({"type": "audio", "file_size_bytes": "10"}, "file_size_bytes"),
        ({"type": "audio", "file_size_bytes": 6 * 1024**3}, "file_size_bytes"),
        ({"type": "audio", "captured_at": "12:00"}, "captured_at"),
    ],
)
def test_upload_url_validation(backend, body, field):
    dev = backend.new_device()
    rec = create_recording(backend, dev)
    reply = call(backend, dev, "POST", f"/recordings/{rec['id']}/upload-url", json=body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["details"]["field"] == field


def test_upload_url_for_unknown_or_foreign_recording_is_404(backend):
    dev, other = backend.new_device(), backend.new_device()
    rec = create_recording(backend, other)
    for rec_id in ("rec_unknown", rec["id"]):
        reply = call(
            backend, dev, "POST", f"/recordings/{rec_id}/upload-url", json={"type": "audio"}
        )
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found"


def test_complete_records_size_and_md5_then_refuses_a_second_time(backend):
    dev = backend.new_device()
    rec = create_recording(backend, dev)
    data = [b"a" * 5000, b"b" * 7000]
    for blob in data:
        grant = upload_url(backend, dev, rec["id"], len(blob))
        assert put(backend, grant, blob).status_code == 200
    reply = complete(backend, dev, rec["id"])
    assert reply.status_code == 200, reply.text
    done = reply.json()
    assert done["status"] == "uploaded" and done["duration_ms"] == 300_000
    assert [m["status"] for m in done["media"]] == ["uploaded", "uploaded"]
    held = backend.state(dev.id)["recordings"][rec["id"]]["media"]
    assert [m["object_size"] for m in held] == [5000, 7000]
    assert [m["object_md5"] for m in held] == [hashlib.md5(b).hexdigest() for b in data]
    again = complete(backend, dev, rec["id"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "recording_not_pending"
    late = call(backend, dev, "POST", f"/recordings/{rec['id']}/upload-url", json={"type": "audio"})
    assert late.status_code == 409


def test_complete_with_no_object_in_storage_is_409_media_missing(backend):
    dev = backend.new_device()
    rec = create_recording(backend, dev)
    grant = upload_url(backend, dev, rec["id"], 10)
    reply = complete(backend, dev, rec["id"])
    assert reply.status_code == 409
    error = reply.json()["error"]
    assert error["code"] == "media_missing"
    assert error["details"]["media"][0] == {
        "id": grant["media_id"], "problem": "missing", "expected_size": 10, "object_size": None,
    }  # fmt: skip
    assert backend.state(dev.id)["recordings"][rec["id"]]["status"] == "pending"


def test_complete_leaves_an_abandoned_media_pending(backend):
    """A URL asked for but never used (e.g. expired, asked again) does not block completion."""
    dev = backend.new_device()
    rec = create_recording(backend, dev)
    upload_url(backend, dev, rec["id"], 10)  # abandoned
    grant = upload_url(backend, dev, rec["id"], 3)
    assert put(backend, grant, b"abc").status_code == 200
    done = complete(backend, dev, rec["id"]).json()
    assert [m["status"] for m in done["media"]] == ["pending", "uploaded"]
    media = backend.state(dev.id)["recordings"][rec["id"]]["media"]
    assert media[0]["problem"] == "missing" and media[1]["object_size"] == 3


def test_complete_detects_an_object_of_another_size(backend):
    """Only possible without an announced size at URL time; here the stored object is
    overwritten through S3 directly to simulate corruption."""
    dev = backend.new_device()
    rec = create_recording(backend, dev)
    grant = upload_url(backend, dev, rec["id"], 4)
    assert put(backend, grant, b"abcd").status_code == 200
    _overwrite_object(backend, dev.id, rec["id"], grant["media_id"], b"abcdef")
    reply = complete(backend, dev, rec["id"])
    assert reply.status_code == 409
    assert reply.json()["error"]["code"] == "media_size_mismatch"
    details = reply.json()["error"]["details"]["media"][0]
    assert details["expected_size"] == 4 and details["object_size"] == 6


def _overwrite_object(backend, device_id, rec_id, media_id, data):
    """PUT straight to SeaweedFS with the backend's own credentials (from its data dir)."""
    ident = json.loads((backend.data_dir / "s3" / "identities.json").read_text())
    cred = ident["identities"][0]["credentials"][0]
    creds = S3Credentials(cred["accessKey"], cred["secretKey"], backend.details["bucket"])
    key = f"{device_id}/{rec_id}/{media_id}"
    grant = presign_put(creds, backend.details["s3_upstream"], key, "audio/opus", len(data), 60)
    assert requests.put(grant.url, data=data, headers=grant.headers, timeout=30).ok


def test_get_recording(backend):
    dev = backend.new_device()
    rec = create_recording(backend, dev)
    reply = call(backend, dev, "GET", f"/recordings/{rec['id']}")
    assert reply.status_code == 200 and reply.json()["id"] == rec["id"]


def test_heartbeat_with_me_and_explicit_id_is_kept(backend):
    dev = backend.new_device()
    body = {
        "battery_percent": 80, "storage_used_mb": 10.5, "storage_total_mb": 1024,
        "signal_strength_dbm": -85, "firmware_version": "1.2.3", "name": "desk",
        "device_state": "uploading", "pending_recordings": 2, "status_flags": 0b11000,
        "connection_type": ["wifi", "4g"],
    }  # fmt: skip
    for who in ("me", dev.id):
        reply = call(backend, dev, "POST", f"/devices/{who}/heartbeat", json=body)
        assert reply.status_code == 200
        assert reply.json() == {"status": "ok", "commands": []}
    beats = backend.state(dev.id)["heartbeats"]
    assert [b["body"] for b in beats] == [body, body]
    assert backend.state(dev.id)["devices"][dev.id]["last_heartbeat_at"]


def test_heartbeat_for_another_device_is_403(backend):
    dev, other = backend.new_device(), backend.new_device()
    reply = call(backend, dev, "POST", f"/devices/{other.id}/heartbeat", json={})
    assert reply.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"battery_percent": 101}, "battery_percent"),
        ({"battery_percent": -1}, "battery_percent"),
        ({"battery_percent": "50"}, "battery_percent"),
        ({"storage_used_mb": -5}, "storage_used_mb"),
        ({"signal_strength_dbm": 20}, "signal_strength_dbm"),
        ({"status_flags": 256}, "status_flags"),
        ({"status_flags": 1.5}, "status_flags"),
        ({"pending_recordings": -1}, "pending_recordings"),
        ({"firmware_version": "x" * 33}, "firmware_version"),
        ({"name": "n" * 65}, "name"),
        ({"device_state": "dancing"}, "device_state"),
        ({"connection_type": ["5g"]}, "connection_type"),
        ({"connection_type": "wifi"}, "connection_type"),
        ({HEARTBEAT_RESULTS_FIELD: {}}, HEARTBEAT_RESULTS_FIELD),
        ({HEARTBEAT_RESULTS_FIELD: [{"status": "executed"}]}, f"{HEARTBEAT_RESULTS_FIELD}[0].id"),
        ({HEARTBEAT_RESULTS_FIELD: [{"id": "c", "status": "ok"}]},
         f"{HEARTBEAT_RESULTS_FIELD}[0].status"),
    ],
)  # fmt: skip
def test_heartbeat_validation(backend, body, field):
    dev = backend.new_device()
    reply = call(backend, dev, "POST", "/devices/me/heartbeat", json=body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["details"]["field"] == field


def test_token_refresh_revokes_the_old_token(backend):
    dev = backend.new_device()
    reply = call(backend, dev, "POST", f"/devices/{dev.id}/token/refresh")
    assert reply.status_code == 200
    new = reply.json()["device_token"]
    assert new.startswith("dtok_") and new != dev.token
    assert call(backend, dev, "POST", "/devices/me/heartbeat", json={}).status_code == 401
    fresh = dev._replace(token=new)
    assert call(backend, fresh, "POST", "/devices/me/heartbeat", json={}).status_code == 200
    assert call(backend, fresh, "POST", "/devices/me/token/refresh").status_code == 200


def test_unbind_and_revoke_and_bind(backend):
    dev = backend.new_device()
    assert backend.admin("POST", f"/_admin/devices/{dev.id}/revoke").status_code == 200
    assert call(backend, dev, "POST", "/devices/me/heartbeat", json={}).status_code == 401
    rebound = backend.admin("POST", f"/_admin/devices/{dev.id}/bind").json()
    fresh = dev._replace(token=rebound["device_token"])
    assert call(backend, fresh, "POST", "/devices/me/heartbeat", json={}).status_code == 200
    unbound = backend.admin("POST", f"/_admin/devices/{dev.id}/unbind").json()
    assert unbound["bound"] is False and unbound["has_token"] is False
    assert call(backend, fresh, "POST", "/devices/me/heartbeat", json={}).status_code == 401
    assert backend.admin("POST", "/_admin/devices/dev_nope/unbind").status_code == 404
    again = backend.admin("POST", f"/_admin/devices/{dev.id}/bind").json()
    newer = backend.admin("POST", f"/_admin/devices/{dev.id}/bind").json()  # as unbind + bind
    assert len({again["device_token"], newer["device_token"], rebound["device_token"]}) == 3
    stale = dev._replace(token=again["device_token"])
    assert call(backend, stale, "POST", "/devices/me/heartbeat", json={}).status_code == 401


def test_chunked_or_oversized_request_bodies_are_refused(backend):
    dev = backend.new_device()
    chunked = call(backend, dev, "POST", "/recordings", data=iter([b"{}"]))
    assert chunked.status_code == 411 and chunked.json()["error"]["code"] == "length_required"
    huge = call(backend, dev, "POST", "/recordings", data=b" " * (1024 * 1024 + 1))
    assert huge.status_code == 413

"""Per-project rate limits, idempotency keys and remote commands of the bench backend."""

from __future__ import annotations

import time

import pytest

from device.contract import HEARTBEAT_RESULTS_FIELD
from tests.backend_calls import call, complete, create_recording, key, put, upload_url


def _project() -> str:
    return "rl-" + key()[:12]


def test_default_limits_30_upload_urls_and_100_calls(backend):
    dev = backend.new_device(_project())
    rec = create_recording(backend, dev)  # call 1
    path = f"/recordings/{rec['id']}/upload-url"
    for i in range(30):
        reply = call(backend, dev, "POST", path, json={"type": "audio"})
        assert reply.status_code == 200, i
        assert reply.headers["X-RateLimit-Limit"] == "30"
        assert reply.headers["X-RateLimit-Remaining"] == str(29 - i)
    refused = call(backend, dev, "POST", path, json={"type": "audio"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert int(refused.headers["Retry-After"]) >= 1
    assert int(refused.headers["X-RateLimit-Reset"]) > time.time()
    for i in range(69):  # calls 32..100 (the refused one did not count)
        beat = call(backend, dev, "POST", "/devices/me/heartbeat", json={})
        assert beat.status_code == 200, i
    assert beat.headers["X-RateLimit-Remaining"] == "0"
    assert call(backend, dev, "POST", "/devices/me/heartbeat", json={}).status_code == 429
    other = backend.new_device(_project())
    assert call(backend, other, "POST", "/devices/me/heartbeat", json={}).status_code == 200


def test_shrunk_window_resets(backend):
    project = _project()
    reply = backend.admin("POST", "/_admin/rate-limits",
                          json={"project": project, "window_seconds": 1, "calls": 2})  # fmt: skip
    assert reply.status_code == 200 and reply.json()["calls"] == 2
    dev = backend.new_device(project)
    assert [call(backend, dev, "POST", "/devices/me/heartbeat", json={}).status_code
            for _ in range(3)] == [200, 200, 429]  # fmt: skip
    time.sleep(1.1)
    assert call(backend, dev, "POST", "/devices/me/heartbeat", json={}).status_code == 200


def test_rate_limit_admin_validation(backend):
    reply = backend.admin("POST", "/_admin/rate-limits", json={"project": "x", "calls": 0})
    assert reply.status_code == 400 and reply.json()["error"]["details"]["field"] == "calls"


def test_idempotent_replay_creates_nothing_new(backend):
    dev = backend.new_device()
    headers = {"Idempotency-Key": key()}
    body = {"started_at": "2026-12-04T10:00:00Z"}
    first = call(backend, dev, "POST", "/recordings", json=body, headers=headers)
    again = call(backend, dev, "POST", "/recordings", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(backend.state(dev.id)["recordings"]) == 1


def test_idempotent_upload_url_and_complete(backend):
    dev = backend.new_device()
    rec = create_recording(backend, dev)
    headers = {"Idempotency-Key": key()}
    path = f"/recordings/{rec['id']}/upload-url"
    body = {"type": "audio", "file_size_bytes": 3}
    one = call(backend, dev, "POST", path, json=body, headers=headers).json()
    two = call(backend, dev, "POST", path, json=body, headers=headers).json()
    assert one == two
    assert put(backend, one, b"abc").status_code == 200
    done_key = {"Idempotency-Key": key()}
    done = call(backend, dev, "POST", f"/recordings/{rec['id']}/upload-complete", headers=done_key)
    replay = call(
        backend, dev, "POST", f"/recordings/{rec['id']}/upload-complete", headers=done_key
    )
    assert done.status_code == replay.status_code == 200 and done.json() == replay.json()
    assert complete(backend, dev, rec["id"]).status_code == 409  # without the key: not pending


def test_same_key_with_another_body_or_device_is_422(backend):
    dev = backend.new_device("idem-p")
    twin = backend.new_device("idem-p")
    headers = {"Idempotency-Key": key()}
    ok = call(backend, dev, "POST", "/recordings", json={"started_at": "2026-12-04T10:00:00Z"},
              headers=headers)  # fmt: skip
    assert ok.status_code == 201
    for who, started in ((dev, "2026-12-04T11:00:00Z"), (twin, "2026-12-04T10:00:00Z")):
        reply = call(backend, who, "POST", "/recordings", json={"started_at": started},
                     headers=headers)  # fmt: skip
        assert reply.status_code == 422
        assert reply.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("bad", ["", "has space", "x" * 256, "semi;colon"])
def test_malformed_idempotency_key_is_400(backend, bad):
    dev = backend.new_device()
    reply = call(backend, dev, "POST", "/recordings", json={"started_at": "2026-12-04T10:00:00Z"},
                 headers={"Idempotency-Key": bad})  # fmt: skip
    assert reply.status_code == 400
    assert reply.json()["error"]["details"]["field"] == "Idempotency-Key"


def test_failed_call_does_not_burn_the_key(backend):
    dev = backend.new_device()
    headers = {"Idempotency-Key": key()}
    bad = call(backend, dev, "POST", "/recordings", json={}, headers=headers)
    assert bad.status_code == 400
    good = call(backend, dev, "POST", "/recordings", json={"started_at": "2026-12-04T10:00:00Z"},
                headers=headers)  # fmt: skip
    assert good.status_code == 201


def _beat(backend, dev, **body):
    reply = call(backend, dev, "POST", "/devices/me/heartbeat", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()["commands"]


def test_command_delivered_until_reported(backend):
    dev = backend.new_device()
    reply = backend.admin("POST", f"/_admin/devices/{dev.id}/commands",
                          json={"type": "start_recording", "params": {"max_duration_sec": 60}})  # fmt: skip
    assert reply.status_code == 201
    command = reply.json()
    assert command["id"].startswith("cmd_") and command["status"] == "pending"
    assert command["params"] == {"max_duration_sec": 60, "upload_immediately": True,
                                 "metadata": {}}  # fmt: skip
    assert command["grant_token"].count(".") == 2 and command["expires_at"].endswith("Z")
    first = _beat(backend, dev)
    assert [c["id"] for c in first] == [command["id"]] and first[0]["status"] == "delivered"
    assert [c["id"] for c in _beat(backend, dev)] == [command["id"]]  # at-least-once
    result = {"recording_id": "rec_x", "started_at": "2026-12-04T10:00:00.000Z"}
    report = [{"id": command["id"], "status": "executed", "result": result}]
    assert _beat(backend, dev, **{HEARTBEAT_RESULTS_FIELD: report}) == []
    assert _beat(backend, dev, **{HEARTBEAT_RESULTS_FIELD: report}) == []  # repeat is harmless
    held = backend.state(dev.id)["commands"][command["id"]]
    assert held["status"] == "executed" and held["result"] == result
    assert held["executed_at"] and held["delivered_at"]


def test_failed_command_and_unknown_result(backend):
    dev = backend.new_device()
    cid = backend.admin("POST", f"/_admin/devices/{dev.id}/commands",
                        json={"type": "stop_recording"}).json()["id"]  # fmt: skip
    report = [{"id": cid, "status": "failed", "error": "not recording"},
              {"id": "cmd_unknown", "status": "executed"}]  # fmt: skip
    assert _beat(backend, dev, **{HEARTBEAT_RESULTS_FIELD: report}) == []
    state = backend.state(dev.id)
    assert state["commands"][cid]["status"] == "failed"
    assert state["commands"][cid]["error"] == "not recording"
    assert state["unknown_command_results"][0]["id"] == "cmd_unknown"


def test_expired_command_is_not_delivered(backend):
    dev = backend.new_device()
    cid = backend.admin("POST", f"/_admin/devices/{dev.id}/commands",
                        json={"type": "stop_recording", "ttl_seconds": 0.2}).json()["id"]  # fmt: skip
    time.sleep(0.3)
    assert _beat(backend, dev) == []
    assert backend.state(dev.id)["commands"][cid]["status"] == "expired"


def test_cancelled_command_is_not_delivered(backend):
    dev = backend.new_device()
    cid = backend.admin("POST", f"/_admin/devices/{dev.id}/commands",
                        json={"type": "stop_recording"}).json()["id"]  # fmt: skip
    assert len(_beat(backend, dev)) == 1
    reply = backend.admin("POST", f"/_admin/commands/{cid}/cancel")
    assert reply.status_code == 200 and reply.json()["status"] == "cancelled"
    assert _beat(backend, dev) == []
    assert backend.admin("POST", f"/_admin/commands/{cid}/cancel").status_code == 409


def test_commands_are_per_device(backend):
    dev, other = backend.new_device(), backend.new_device()
    backend.admin("POST", f"/_admin/devices/{dev.id}/commands", json={"type": "stop_recording"})
    assert _beat(backend, other) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "dance"}, "type"),
        ({"type": "start_recording", "params": {"max_duration_sec": 0}},
         "params.max_duration_sec"),
        ({"type": "start_recording", "params": {"max_duration_sec": 86401}},
         "params.max_duration_sec"),
        ({"type": "start_recording", "params": {"upload_immediately": "yes"}},
         "params.upload_immediately"),
        ({"type": "start_recording", "ttl_seconds": -1}, "ttl_seconds"),
    ],
)  # fmt: skip
def test_command_validation(backend, body, field):
    dev = backend.new_device()
    reply = backend.admin("POST", f"/_admin/devices/{dev.id}/commands", json=body)
    assert reply.status_code == 400 and reply.json()["error"]["details"]["field"] == field


def test_command_for_unknown_device_is_404(backend):
    reply = backend.admin(
        "POST", "/_admin/devices/dev_nope/commands", json={"type": "stop_recording"}
    )
    assert reply.status_code == 404


def test_no_secret_in_the_backend_log(backend):
    dev = backend.new_device()
    rec = create_recording(backend, dev)
    grant = upload_url(backend, dev, rec["id"], 3)
    put(backend, grant, b"abc")
    log = (backend.data_dir / "backend.log").read_text()
    signature = grant["upload_url"].split("X-Amz-Signature=")[1].split("&")[0]
    assert dev.token not in log and signature not in log

"""Every fault kind of the bench backend, on the API endpoints and on the S3 PUT path."""

from __future__ import annotations

import time

import pytest
import requests

from tests.backend_calls import call, complete, create_recording, key, put, upload_url


@pytest.fixture
def dev(backend):
    """A fresh device; the fault plan is cleared after the test."""
    yield backend.new_device()
    backend.clear_faults()


def _rule(dev, endpoint, kind, calls=(1,), **params):
    return {"endpoint": endpoint, "kind": kind, "calls": list(calls), "device": dev.id, **params}


def _served(backend, dev):
    return [(s["endpoint"], s["kind"], s["call"]) for s in backend.state(dev.id)["faults_served"]]


def test_status_fault_answers_before_work_with_retry_after(backend, dev):
    backend.set_faults([_rule(dev, "create_recording", "status", status=503, retry_after=7)])
    reply = call(backend, dev, "POST", "/recordings", json={"started_at": "2026-12-04T10:00:00Z"})
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "7"
    assert reply.json()["error"]["code"] == "service_unavailable"
    assert "X-RateLimit-Remaining" in reply.headers
    assert backend.state(dev.id)["recordings"] == {}
    create_recording(backend, dev)  # call 2 is served normally
    assert _served(backend, dev) == [("create_recording", "status", 1)]


def test_status_429_fault_on_heartbeat(backend, dev):
    backend.set_faults([_rule(dev, "heartbeat", "status", status=429, retry_after=1)])
    reply = call(backend, dev, "POST", "/devices/me/heartbeat", json={})
    assert reply.status_code == 429 and reply.json()["error"]["code"] == "rate_limit_exceeded"
    assert reply.headers["Retry-After"] == "1"


def test_drop_after_work_then_idempotent_retry_returns_the_same_recording(backend, dev):
    backend.set_faults([_rule(dev, "create_recording", "drop_after_work")])
    body = {"started_at": "2026-12-04T10:00:00Z"}
    headers = {"Idempotency-Key": key()}
    with pytest.raises(requests.ConnectionError):
        call(backend, dev, "POST", "/recordings", json=body, headers=headers)
    made = list(backend.state(dev.id)["recordings"])
    assert len(made) == 1  # the work was done
    retry = call(backend, dev, "POST", "/recordings", json=body, headers=headers)
    assert retry.status_code == 201 and retry.json()["id"] == made[0]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert len(backend.state(dev.id)["recordings"]) == 1


def test_broken_json_fault_after_work(backend, dev):
    rec = create_recording(backend, dev)
    backend.set_faults([_rule(dev, "upload_url", "broken_json")])
    reply = call(
        backend, dev, "POST", f"/recordings/{rec['id']}/upload-url", json={"type": "audio"}
    )
    assert reply.status_code == 200
    with pytest.raises(ValueError):
        reply.json()
    assert len(backend.state(dev.id)["recordings"][rec["id"]]["media"]) == 1


def test_html_fault_before_work(backend, dev):
    rec = create_recording(backend, dev)
    backend.set_faults([_rule(dev, "complete", "html")])
    reply = complete(backend, dev, rec["id"])
    assert reply.status_code == 502 and reply.headers["Content-Type"].startswith("text/html")
    assert "<html>" in reply.text
    assert backend.state(dev.id)["recordings"][rec["id"]]["status"] == "pending"


def test_empty_fault(backend, dev):
    backend.set_faults([_rule(dev, "heartbeat", "empty")])
    reply = call(backend, dev, "POST", "/devices/me/heartbeat", json={"battery_percent": 5})
    assert reply.status_code == 200 and reply.content == b""
    assert len(backend.state(dev.id)["heartbeats"]) == 1


def test_missing_and_mistyped_field_faults(backend, dev):
    backend.set_faults([
        _rule(dev, "create_recording", "mistyped_field", calls=[1], field="id"),
        _rule(dev, "upload_url", "missing_field", calls=[1], field="upload_url"),
    ])  # fmt: skip
    reply = call(backend, dev, "POST", "/recordings", json={"started_at": "2026-12-04T10:00:00Z"})
    assert isinstance(reply.json()["id"], int)
    rec_id = next(iter(backend.state(dev.id)["recordings"]))
    grant = call(backend, dev, "POST", f"/recordings/{rec_id}/upload-url", json={"type": "audio"})
    assert "upload_url" not in grant.json() and "media_id" in grant.json()


def test_huge_body_fault(backend, dev):
    backend.set_faults([_rule(dev, "token_refresh", "huge_body", bytes=3_000_000)])
    reply = call(backend, dev, "POST", "/devices/me/token/refresh")
    assert reply.status_code == 200 and len(reply.content) == 3_000_000
    assert reply.json()["padding"].startswith("xxx")


def test_expired_url_fault(backend, dev):
    rec = create_recording(backend, dev)
    backend.set_faults([_rule(dev, "upload_url", "expired_url")])
    grant = upload_url(backend, dev, rec["id"], 4)
    reply = put(backend, grant, b"abcd")
    assert reply.status_code == 403 and "<Code>AccessDenied</Code>" in reply.text
    fresh = upload_url(backend, dev, rec["id"], 4)
    assert put(backend, fresh, b"abcd").status_code == 200


def test_http_url_fault(backend, dev):
    rec = create_recording(backend, dev)
    backend.set_faults([_rule(dev, "upload_url", "http_url")])
    grant = upload_url(backend, dev, rec["id"], 4)
    assert grant["upload_url"].startswith("http://s3.bench-backend.invalid/")


def test_cut_put_stores_nothing(backend, dev):
    rec = create_recording(backend, dev)
    grant = upload_url(backend, dev, rec["id"], 200_000)
    backend.set_faults([_rule(dev, "s3_put", "cut_put", after_bytes=1000)])
    with pytest.raises(requests.ConnectionError):
        put(backend, grant, b"z" * 200_000)
    reply = complete(backend, dev, rec["id"])
    assert reply.status_code == 409 and reply.json()["error"]["code"] == "media_missing"
    s3 = backend.state(dev.id)["s3_requests"]
    assert s3[-1]["fault"] == "cut_put" and s3[-1]["bytes"] == 1000
    assert put(backend, grant, b"z" * 200_000).status_code == 200  # call 2 goes through
    assert complete(backend, dev, rec["id"]).status_code == 200


def test_stall_put_times_out_a_client_then_carries_on(backend, dev):
    rec = create_recording(backend, dev)
    grant = upload_url(backend, dev, rec["id"], 4)
    backend.set_faults([_rule(dev, "s3_put", "stall_put", calls=[1, 2], seconds=1.0)])
    with pytest.raises(requests.Timeout):
        put(backend, grant, b"abcd", timeout=0.3)
    assert put(backend, grant, b"abcd", timeout=10).status_code == 200  # stalled, then done
    assert [s[1] for s in _served(backend, dev)] == ["stall_put", "stall_put"]


@pytest.mark.parametrize(
    ("rule", "status", "code"),
    [
        ({"kind": "slow_down"}, 503, "SlowDown"),
        ({"kind": "status", "status": 500}, 500, "InternalError"),
        ({"kind": "status", "status": 503}, 503, "SlowDown"),
    ],
)
def test_s3_error_faults(backend, dev, rule, status, code):
    rec = create_recording(backend, dev)
    grant = upload_url(backend, dev, rec["id"], 4)
    backend.set_faults([{"endpoint": "s3_put", "calls": [1], "device": dev.id, **rule}])
    reply = put(backend, grant, b"abcd")
    assert reply.status_code == status and f"<Code>{code}</Code>" in reply.text
    assert complete(backend, dev, rec["id"]).status_code == 409  # nothing stored


def test_s3_drop_after_work_stores_the_object(backend, dev):
    rec = create_recording(backend, dev)
    grant = upload_url(backend, dev, rec["id"], 4)
    backend.set_faults([_rule(dev, "s3_put", "drop_after_work")])
    with pytest.raises(requests.ConnectionError):
        put(backend, grant, b"abcd")
    media = backend.state(dev.id, objects=True)["recordings"][rec["id"]]["media"][0]
    assert media["object_now"] == {"size": 4, "md5": "e2fc714c4727ee9395f324cd2e7f331f"}
    assert media["status"] == "pending"  # until complete
    assert complete(backend, dev, rec["id"]).status_code == 200


def test_delay_fault_times_out_the_client_but_does_the_work(backend, dev):
    backend.set_faults([_rule(dev, "create_recording", "delay", seconds=1.0)])
    with pytest.raises(requests.Timeout):
        call(backend, dev, "POST", "/recordings", json={"started_at": "2026-12-04T10:00:00Z"},
             timeout=0.3)  # fmt: skip
    deadline = time.monotonic() + 10
    while not backend.state(dev.id)["recordings"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(backend.state(dev.id)["recordings"]) == 1


def test_every_and_device_scoping(backend, dev):
    other = backend.new_device()
    backend.set_faults([{"endpoint": "heartbeat", "kind": "status", "every": True,
                         "device": dev.id, "status": 500}])  # fmt: skip
    for _ in range(3):
        assert call(backend, dev, "POST", "/devices/me/heartbeat", json={}).status_code == 500
    assert call(backend, other, "POST", "/devices/me/heartbeat", json={}).status_code == 200
    assert [s[2] for s in _served(backend, dev)] == [1, 2, 3]
    rules = backend.admin("GET", "/_admin/faults").json()["faults"]
    assert rules[0]["matched_calls"] == 3


@pytest.mark.parametrize(
    ("plan", "needle"),
    [
        ([{"endpoint": "nowhere", "kind": "status", "calls": [1]}], "endpoint"),
        ([{"endpoint": "heartbeat", "kind": "explode", "calls": [1]}], "kind"),
        ([{"endpoint": "heartbeat", "kind": "cut_put", "calls": [1]}], "does not apply"),
        ([{"endpoint": "s3_put", "kind": "html", "calls": [1]}], "does not apply"),
        ([{"endpoint": "heartbeat", "kind": "status"}], "calls"),
        ([{"endpoint": "heartbeat", "kind": "status", "calls": [0]}], "calls"),
        ([{"endpoint": "heartbeat", "kind": "missing_field", "calls": [1]}], "field"),
        ([{"endpoint": "heartbeat", "kind": "status", "calls": [1], "status": 99}], "status"),
        ([{"endpoint": "heartbeat", "kind": "status", "calls": [1], "bogus": 1}], "bogus"),
        ({"not": "a list"}, "list"),
    ],
)
def test_bad_fault_plans_are_refused_with_the_place(backend, plan, needle):
    reply = backend.admin("POST", "/_admin/faults", json=plan)
    assert reply.status_code == 400
    assert needle in reply.json()["error"]["message"]


def test_faults_can_be_read_and_reset(backend, dev):
    backend.set_faults([_rule(dev, "heartbeat", "empty")])
    assert len(backend.admin("GET", "/_admin/faults").json()["faults"]) == 1
    assert backend.admin("POST", "/_admin/faults/reset").json() == {"faults": []}
    assert call(backend, dev, "POST", "/devices/me/heartbeat", json={}).json()["status"] == "ok"

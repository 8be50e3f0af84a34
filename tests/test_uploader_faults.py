"""Every fault of the bench backend, alone and in sequence; each malformed reply, then recovery.

Faults are scoped to the rig's own device, so the shared backend serves the other tests unchanged.
"""

from __future__ import annotations

import json

import pytest

API = ("create_recording", "upload_url", "complete")
MALFORMED = (
    ("broken_json", {}),
    ("html", {}),
    ("empty", {}),
    ("missing_field", {"field": "id"}),
    ("mistyped_field", {"field": "id"}),
    ("huge_body", {"bytes": 2 * 1024 * 1024}),
)
FIELD = {"upload_url": "upload_url", "create_recording": "id", "complete": "status"}
# (endpoint, kind, params) of faults that the worker must ride out without help.
ALONE = [
    *[(ep, "status", {"status": s}) for ep in API for s in (500, 503)],
    *[(ep, "status", {"status": 429, "retry_after": 1}) for ep in API],
    *[(ep, "drop_after_work", {}) for ep in API],
    *[
        (ep, kind, {**params, **({"field": FIELD[ep]} if "field" in params else {})})
        for ep in API
        for kind, params in MALFORMED
    ],
    ("upload_url", "expired_url", {}),
    ("upload_url", "http_url", {}),
    ("s3_put", "cut_put", {"after_bytes": 70_000}),
    ("s3_put", "stall_put", {"seconds": 4.0, "after_bytes": 70_000}),
    ("s3_put", "slow_down", {}),
]


def rule(rig, endpoint, kind, calls=(1,), **params):
    return {
        "endpoint": endpoint,
        "kind": kind,
        "calls": list(calls),
        "device": rig.device.id,
        **params,
    }


def served(rig) -> list[dict]:
    state = rig.server()
    return [f for f in state.get("faults_served", []) if f.get("device") in (None, rig.device.id)]


@pytest.fixture
def faults(backend):
    yield backend
    backend.clear_faults()


@pytest.mark.parametrize(
    ("endpoint", "kind", "params"), ALONE, ids=lambda v: str(v) if not isinstance(v, dict) else ""
)
def test_fault_alone_then_recovery(faults, rig_factory, endpoint, kind, params):
    rig = rig_factory(faults, "f")
    files = rig.make_files(2)
    rig.enqueue(files)
    faults.set_faults([rule(rig, endpoint, kind, calls=(1, 2), **params)])
    result = rig.flush(timeout=30)
    assert result.done and not result.parked, result
    assert served(rig), "the fault was never served"
    figures = rig.check_delivered(files)
    if kind in ("drop_after_work", "status", *[m for m, _ in MALFORMED]) and endpoint != "s3_put":
        # a lost reply is retried under the same key: nothing is created twice
        assert len(rig.my_recordings()) == len(files)
    print(f"{endpoint}/{kind}: survived, orphans {figures['orphans']}")


def test_faults_in_sequence(faults, rig_factory):
    """Every fault kind at once, each on its own call numbers of its endpoint."""
    rig = rig_factory(faults, "seq")
    files = rig.make_files(6)
    rig.enqueue(files)
    plan, n = [], {}
    for endpoint, kind, params in ALONE:
        n[endpoint] = n.get(endpoint, 0) + 1
        plan.append(rule(rig, endpoint, kind, calls=(n[endpoint],), **params))
    faults.set_faults(plan)
    result = rig.flush(timeout=120)
    assert result.done and not result.parked, result
    assert len(served(rig)) >= len(plan) // 2
    rig.check_delivered(files)


def test_unauthorized_parks_everything_and_keeps_every_file(faults, rig_factory):
    rig = rig_factory(faults, "auth")
    files = rig.make_files(3)
    rig.enqueue(files)
    faults.set_faults(
        [rule(rig, "create_recording", "status", calls=(1,), status=401, code="unauthorized")]
    )
    proc = rig.recorder("flush", "--timeout", "20")
    assert proc.returncode == 1 and "ALL PARKED: unauthorized" in proc.stdout, proc.stdout
    status = json.loads(rig.recorder("status", "--json", check=0).stdout)
    assert status["parked_all"]["reason"] == "unauthorized"
    assert status["pending"]["media"] == 3, "nothing dropped"
    assert rig.recorder("flush", "--timeout", "5").returncode == 1, "retries slowly, not now"
    assert rig.recorder("flush", "--timeout", "30", "--retry-parked").returncode == 0
    rig.check_delivered(files)


def test_invalid_request_parks_only_that_media(faults, rig_factory):
    rig = rig_factory(faults, "bad")
    files = rig.make_files(3)
    ids = rig.enqueue(files)
    faults.set_faults(
        [rule(rig, "upload_url", "status", calls=(1,), status=400, code="invalid_request")]
    )
    result = rig.flush(timeout=30)
    assert [p["id"] for p in result.parked] == [ids[0]]
    assert result.parked[0]["reason"].startswith("invalid_request")
    proc = rig.recorder("flush", "--timeout", "5")
    assert proc.returncode == 1 and ids[0] in proc.stdout
    with rig.spool() as spool:
        assert spool.counts()["uploaded"] == 2
    assert rig.recorder("flush", "--timeout", "30", "--retry-parked").returncode == 0
    rig.check_delivered(files)


@pytest.mark.parametrize("endpoint", ["upload_url", "complete"])
def test_lost_recording_is_recreated_and_orphans_counted(faults, rig_factory, endpoint):
    rig = rig_factory(faults, "lost")
    files = rig.make_files(2)
    rig.enqueue(files)
    faults.set_faults([rule(rig, endpoint, "status", calls=(1,), status=404, code="not_found")])
    assert rig.flush(timeout=30).done
    status = json.loads(rig.recorder("status", "--json", check=0).stdout)
    if endpoint == "complete":
        assert status["orphans"] == 1
    rig.check_delivered(files)


def test_conflict_on_complete_means_completed(backend, rig_factory):
    """A real 409: the recording was completed by another request (another key) meanwhile."""
    import time

    from device.cli import _wiring

    rig = rig_factory(backend, "conflict")
    files = rig.make_files(1)
    [media_id] = rig.enqueue(files)
    config = rig.config()
    with _wiring.open_spool(config) as spool, _wiring.api_client(config) as api:
        worker = _wiring.uploader(config, spool, api)
        worker.drain(
            time.monotonic() + 20, until=lambda: spool.media(media_id)["state"] == "uploaded"
        )
        rec = spool.recording(spool.media(media_id)["recording_id"])
        assert rec["state"] == "created"
        api.complete(rec["server_id"], idempotency_key="someone-else-1")
        assert worker.drain(time.monotonic() + 20).done
        assert spool.recording(rec["id"])["state"] == "completed"
    rig.check_delivered(files)

"""A second bench backend beside the session one: no collisions, URL expiry, clean stop."""

from __future__ import annotations

import os
import time

import pytest

from tests.backend_calls import call, complete, create_recording, put, upload_file, upload_url
from tests.fixtures.backend import run_backend


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    """Upload URLs straight to SeaweedFS, valid 1 s."""
    with run_backend(tmp_path_factory.mktemp("second"), "--s3-direct", "--url-ttl", "1") as b:
        yield b


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_backends_do_not_collide(backend, second):
    assert backend.base_url != second.base_url
    assert set(backend.details["s3_ports"].values()).isdisjoint(second.details["s3_ports"].values())
    one, two = backend.new_device(), second.new_device()
    assert upload_file(backend, one, b"1" * 100)["status"] == "uploaded"
    assert call(second, one, "POST", "/devices/me/heartbeat", json={}).status_code == 401
    rec = create_recording(second, two)
    grant = upload_url(second, two, rec["id"], 3)
    assert grant["upload_url"].startswith(second.details["s3_upstream"])  # --s3-direct
    assert put(second, grant, b"two").status_code == 200
    assert complete(second, two, rec["id"]).status_code == 200


def test_put_after_expiry_is_refused(second):
    dev = second.new_device()
    rec = create_recording(second, dev)
    grant = upload_url(second, dev, rec["id"], 4)
    time.sleep(2.1)
    reply = put(second, grant, b"abcd")
    assert reply.status_code == 403 and "<Code>AccessDenied</Code>" in reply.text
    assert "expired" in reply.text
    assert complete(second, dev, rec["id"]).status_code == 409


def test_s3_put_faults_are_refused_without_the_proxy(second):
    reply = second.admin("POST", "/_admin/faults", json=[
        {"endpoint": "s3_put", "kind": "slow_down", "every": True}
    ])  # fmt: skip
    assert reply.status_code == 400 and "--s3-direct" in reply.json()["error"]["message"]


def test_stop_leaves_no_process_and_saves_state(second):
    pids = [second.pid, second.s3_pid]
    assert all(_alive(p) for p in pids)
    second.stop()
    assert not any(_alive(p) for p in pids)
    assert (second.data_dir / "state.json").exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(pids[1], 0)

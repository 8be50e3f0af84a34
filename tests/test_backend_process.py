"""A second bench backend beside the session one: no collisions, URL expiry, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.backend_calls import call, complete, create_recording, put, upload_file, upload_url
from tests.fixtures.backend import run_backend
from tools.bench_backend import launch
from tools.bench_backend.s3 import remove_grpc_sockets

PLAN_TOML = """
[[faults]]
endpoint = "heartbeat"
kind = "status"
status = 503
retry_after = 2
calls = [1]
"""


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    """HTTPS, upload URLs straight to SeaweedFS (its own HTTPS port), valid 1 s; a fault plan
    from a TOML file."""
    data = tmp_path_factory.mktemp("second")
    plan = data / "plan.toml"
    plan.write_text(PLAN_TOML)
    args = ("--tls", "--s3-direct", "--url-ttl", "1", "--faults", str(plan))
    with run_backend(data / "bb", *args) as running:
        yield running


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
    direct = second.details["s3_endpoint"]
    assert direct.startswith("https://") and direct != second.details["s3_upstream"]
    assert grant["upload_url"].startswith(direct)  # --s3-direct: SeaweedFS's own HTTPS port
    assert put(second, grant, b"two").status_code == 200
    assert complete(second, two, rec["id"]).status_code == 200


def test_fault_plan_from_a_toml_file(second):
    rules = second.admin("GET", "/_admin/faults").json()["faults"]
    assert rules == [{"endpoint": "heartbeat", "kind": "status", "status": 503, "retry_after": 2,
                      "code": None, "calls": [1], "matched_calls": 0}]  # fmt: skip
    dev = second.new_device()
    first = call(second, dev, "POST", "/devices/me/heartbeat", json={})
    assert first.status_code == 503 and first.headers["Retry-After"] == "2"
    assert call(second, dev, "POST", "/devices/me/heartbeat", json={}).status_code == 200


def test_a_bad_fault_file_stops_the_start_with_its_place(tmp_path):
    plan = tmp_path / "bad.json"
    plan.write_text('[{"endpoint": "heartbeat", "kind": "status", "calls": "first"}]')
    proc = subprocess.run(
        [sys.executable, "-m", "tools.bench_backend.cli", "--data", str(tmp_path / "d"),
         "--faults", str(plan)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert "bad.json: fault rule 0.calls" in proc.stderr


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


def test_seaweedfs_dies_with_a_killed_backend(tmp_path):
    """SIGKILL leaves the backend no chance to clean up: SeaweedFS must still go (PDEATHSIG)."""
    running = launch.start(tmp_path / "crash")
    s3_pid = running.details["s3_pid"]
    assert _alive(s3_pid)
    os.kill(running.proc.pid, signal.SIGKILL)
    running.proc.wait()
    assert not launch.group_alive(s3_pid, wait=10)
    remove_grpc_sockets(running.details["s3_ports"])

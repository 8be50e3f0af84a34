"""`recorder run` end to end, as real processes: the bench backend (API emulator + SeaweedFS S3), the
fake modem on a real pty, simulated microphone and camera (no sound card or V4L2 camera here), a real
notify socket. Remote commands arrive by heartbeat; recordings are captured, uploaded, completed."""

from __future__ import annotations

import signal
import time

import pytest

from device import contract
from device.heartbeat import validate_body
from hal.modem.parsers import parse_csq
from tools.agent_harness import wait_until

pytestmark = pytest.mark.slow

FAST = {
    "audio": {"segment_seconds": 1.0},
    "camera": {"interval_seconds": 1.0},
    "heartbeat": {"interval_seconds": 0.5},
}


def _bodies(agent):
    return [h.get("body", h) for h in agent.state()["heartbeats"]]


def _recordings(agent):
    return list(agent.state()["recordings"].values())


def _completed(agent):
    agent.check_alive()
    done = [r for r in _recordings(agent) if r["status"] != "pending" and r["media"]]
    return done[0] if done else None


def test_start_command_by_heartbeat_is_recorded_uploaded_and_completed(agent_factory):
    agent = agent_factory(log={"level": "DEBUG"}, **FAST)
    agent.start()
    wait_until(lambda: agent.check_alive() or _bodies(agent), 30, what="first heartbeat")
    cmd = agent.command("start_recording", max_duration_sec=4, metadata={"case": "e2e"})
    rec = wait_until(lambda: _completed(agent), 60, what="a completed recording")
    kinds = [m["type"] for m in rec["media"]]
    assert kinds.count("audio") >= 3 and kinds.count("image") >= 2, kinds
    assert all(m["status"] == "uploaded" for m in rec["media"])
    assert rec["metadata"] == {"case": "e2e", "command_id": cmd["id"]}
    command = wait_until(
        lambda: (
            agent.state()["commands"][cmd["id"]]["status"] == "executed"
            and agent.state()["commands"][cmd["id"]]
        ),
        20,
        what="the command result reported by heartbeat",
    )
    assert command["result"]["recording_id"].startswith("lrec_")
    time.sleep(1.5)  # redeliveries before the result arrived must not start a second recording
    assert len(_recordings(agent)) == 1
    bodies = _bodies(agent)
    for body in bodies:
        validate_body(body)
    expected_dbm = parse_csq("+CSQ: 19,99").dbm  # the normal scenario's signal
    assert any(b.get("signal_strength_dbm") == expected_dbm for b in bodies)
    assert {"recording", "idle"} <= {b["device_state"] for b in bodies}
    last = bodies[-1]
    assert last["battery_percent"] == 77 and "wifi" in last["connection_type"]
    assert last["status_flags"] & contract.STATUS_FLAGS["wifi_connected"]
    assert any(contract.HEARTBEAT_RESULTS_FIELD in b for b in bodies)
    # errors too: revoke the token, so heartbeats fail with 401 (logged at DEBUG and WARNING)
    assert agent.backend.admin("POST", f"/_admin/devices/{agent.device.id}/revoke").ok
    wait_until(
        lambda: "401" in agent.log_text() or "nauthorized" in agent.log_text(),
        20,
        what="a 401 logged",
    )
    agent.proc.signal(signal.SIGTERM)
    assert agent.proc.wait(10) == 0
    _assert_token_only_sealed(agent)


def _assert_token_only_sealed(agent):
    """With DEBUG logging the token is in no log line, no error and no file but the sealed one."""
    token = agent.device.token.encode()
    assert agent.log_text(), "the agent logged"
    found = []
    for path in agent.work.rglob("*"):
        if path.is_file() and path.name != "token.sealed" and token in path.read_bytes():
            found.append(str(path))
    assert found == []
    assert token not in (agent.work / "token.sealed").read_bytes(), "sealed, not plain"


def test_sigterm_mid_segment_and_mid_upload_loses_nothing_and_the_next_start_resumes(
    agent_factory, backend, notify_socket
):
    agent = agent_factory(
        agent={"upload_deadline_s": 1.5, "heartbeat_retry_s": 0.5},
        upload={"put_timeout_s": 30.0},
        **FAST,
    )
    backend.set_faults(
        [
            {
                "endpoint": "s3_put",
                "kind": "stall_put",
                "seconds": 20.0,
                "calls": [2],
                "device": agent.device.id,
            }
        ]
    )
    try:
        proc = agent.start(
            env={"NOTIFY_SOCKET": notify_socket.env_value, "WATCHDOG_USEC": "1000000"}
        )
        notify_socket.wait_for("READY", "1", timeout=30)
        agent.command("start_recording", max_duration_sec=30)
        # the second PUT hangs: the uploader stops making progress, so the watchdog pings stop
        notify_socket.wait_for("STATUS", "worker upload stalled", timeout=40)
        last_ping = notify_socket.with_key("WATCHDOG")[-1][0]
        time.sleep(1.5)
        assert notify_socket.with_key("WATCHDOG")[-1][0] == last_ping, "no pings while stalled"
        started = time.monotonic()
        proc.signal(signal.SIGTERM)  # mid-segment (1 s segments, capture running) and mid-PUT
        status = proc.wait(10)
        assert time.monotonic() - started < 5.0
        assert status == 0
        notify_socket.wait_for("STOPPING", "1")
    finally:
        backend.clear_faults()
    local = _local_media(agent)
    assert len(local) >= 2
    agent.start()
    rec = wait_until(lambda: _completed(agent), 60, what="the recording completed after restart")
    cloud = {m["object_md5"] for m in rec["media"]}
    assert {m["md5"] for m in local} <= cloud, (
        "every file captured before SIGTERM reached the cloud"
    )
    assert len(rec["media"]) == len(local)


def _local_media(agent):
    import sqlite3

    db = sqlite3.connect(agent.work / "spool" / "spool.db")
    try:
        rows = db.execute(
            "SELECT id, md5, state FROM media WHERE state != 'quarantined'"
        ).fetchall()
    finally:
        db.close()
    return [{"id": r[0], "md5": r[1], "state": r[2]} for r in rows]

"""Heartbeat bodies against the contract, and the heartbeat worker's command round trip.

The worker test uses a small in-process API stand-in; the real HTTP path is in tests/test_agent_e2e.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from device import contract
from device.clock import utc_iso
from device.commands import CommandLedger, CommandRunner
from device.errors import RecorderError
from device.heartbeat import (
    DeviceSnapshot,
    HeartbeatBodyError,
    HeartbeatWorker,
    build_body,
    validate_body,
)


def test_full_snapshot_gives_a_valid_body():
    snap = DeviceSnapshot(
        device_state="recording",
        battery_percent=87.6,
        charging=True,
        storage_used_mb=12.345,
        storage_total_mb=1024,
        signal_dbm=-71,
        pending_recordings=2,
        connections=("4g", "wifi"),
        sync_active=True,
    )
    body = build_body(snap, "0.1.0", "desk-1")
    assert body == {
        "firmware_version": "0.1.0",
        "device_state": "recording",
        "name": "desk-1",
        "battery_percent": 88,
        "storage_used_mb": 12.3,
        "storage_total_mb": 1024,
        "signal_strength_dbm": -71,
        "pending_recordings": 2,
        "status_flags": 0b111001,
        "connection_type": ["wifi", "4g"],
    }


def test_unknown_values_are_left_out():
    body = build_body(DeviceSnapshot(), "0.1.0")
    assert set(body) == {"firmware_version", "device_state", "status_flags", "connection_type"}
    assert body["status_flags"] == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"device_state": "sleeping"}, "device_state"),
        ({"signal_strength_dbm": 5}, "signal_strength_dbm"),
        ({"status_flags": 256}, "status_flags"),
        ({"connection_type": ["5g"]}, "connection_type"),
        ({"firmware_version": "x" * 33}, "firmware_version"),
        ({"battery": 3}, "battery"),
    ],
)
def test_out_of_contract_fields_are_named(body, field):
    with pytest.raises(HeartbeatBodyError) as err:
        validate_body(body)
    assert err.value.field == field


class StubApi:
    """In-process stand-in for ApiClient.heartbeat (the e2e test drives the real one)."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.bodies = []

    def heartbeat(self, body, device_id="me"):
        self.bodies.append(body)
        reply = self.replies.pop(0) if self.replies else {"status": "ok"}
        if isinstance(reply, Exception):
            raise reply
        return reply


class Rec:
    def __init__(self):
        self.started = 0

    def start_recording(self, cmd):
        self.started += 1
        return {"recording_id": "lrec_1", "started_at": "2026-12-04T12:00:00.000Z"}

    def stop_recording(self, cmd):
        return {}


def test_results_ride_the_next_heartbeat_and_failed_beats_keep_them(tmp_path):
    expires = utc_iso(datetime.now(UTC) + timedelta(minutes=5))
    cmd = {"id": "cmd_a", "type": "start_recording", "params": {}, "expires_at": expires}
    api = StubApi(
        [
            {"status": "ok", "commands": [cmd]},
            RecorderError("link down"),
            {"status": "ok", "commands": [cmd]},  # redelivered before the result arrived
            {"status": "ok"},
        ]
    )
    ledger = CommandLedger(tmp_path / "c.db")
    rec = Rec()
    hb = HeartbeatWorker(
        api,
        DeviceSnapshot,
        ledger,
        CommandRunner(ledger, rec),
        interval_s=1,
        retry_s=1,
        firmware_version="t",
    )
    assert hb.beat_once() and hb.wake.is_set()
    assert not hb.beat_once()
    assert hb.beat_once()
    assert hb.beat_once()
    assert rec.started == 1
    results = [b.get(contract.HEARTBEAT_RESULTS_FIELD) for b in api.bodies]
    assert results[0] is None
    assert (
        results[1]
        == results[2]
        == [
            {
                "id": "cmd_a",
                "status": "executed",
                "result": {"recording_id": "lrec_1", "started_at": "2026-12-04T12:00:00.000Z"},
            }
        ]
    )
    assert results[3] is None
    ledger.close()

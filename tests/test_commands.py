"""Remote commands: parsing, expiry, run-once across redelivery and restarts (real SQLite ledger)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from device.clock import utc_iso
from device.commands import CommandError, CommandLedger, CommandRunner, parse_command
from device.errors import RecorderError

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class FakeRecorder:
    """Stands in for the capture side: records calls (capture has its own tests)."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, object]] = []
        self.fail = fail

    def start_recording(self, cmd):
        if self.fail:
            raise RecorderError("storage full")
        self.calls.append(("start", cmd))
        return {"recording_id": "loc_1", "started_at": utc_iso(NOW)}

    def stop_recording(self, cmd):
        self.calls.append(("stop", cmd))
        return {"recording_id": "loc_1"}


def start_cmd(cid="cmd_1", expires=NOW + timedelta(seconds=300), **params):
    return {"id": cid, "type": "start_recording", "params": params, "expires_at": utc_iso(expires)}


@pytest.fixture
def ledger(tmp_path):
    led = CommandLedger(tmp_path / "commands.db")
    yield led
    led.close()


def test_a_command_delivered_twice_runs_once(ledger):
    rec = FakeRecorder()
    runner = CommandRunner(ledger, rec, now=lambda: NOW)
    assert runner.handle([start_cmd(max_duration_sec=20)]) == 1
    assert runner.handle([start_cmd(max_duration_sec=20)]) == 0
    assert len(rec.calls) == 1
    assert rec.calls[0][1].max_duration_sec == 20
    results = ledger.unreported()
    assert results == [
        {
            "id": "cmd_1",
            "status": "executed",
            "result": {"recording_id": "loc_1", "started_at": utc_iso(NOW)},
        }
    ]
    ledger.mark_reported(["cmd_1"])
    assert ledger.unreported() == []


def test_run_once_survives_a_restart(tmp_path):
    path = tmp_path / "commands.db"
    first = CommandLedger(path)
    CommandRunner(first, FakeRecorder(), now=lambda: NOW).handle([start_cmd()])
    first.close()
    again = CommandLedger(path)
    rec = FakeRecorder()
    assert CommandRunner(again, rec, now=lambda: NOW).handle([start_cmd()]) == 0
    assert rec.calls == []
    assert again.unreported()[0]["status"] == "executed", "result still owed to the cloud"
    again.close()


def test_an_expired_command_is_ignored(ledger):
    rec = FakeRecorder()
    runner = CommandRunner(ledger, rec, now=lambda: NOW)
    assert runner.handle([start_cmd(expires=NOW - timedelta(seconds=1))]) == 0
    assert rec.calls == [] and ledger.unreported() == []


def test_failure_is_reported_not_raised(ledger):
    runner = CommandRunner(ledger, FakeRecorder(fail=True), now=lambda: NOW)
    runner.handle([start_cmd()])
    assert ledger.unreported() == [{"id": "cmd_1", "status": "failed", "error": "storage full"}]


def test_malformed_command_fails_with_its_reason(ledger):
    runner = CommandRunner(ledger, FakeRecorder(), now=lambda: NOW)
    runner.handle([start_cmd(max_duration_sec=0), {"type": "start_recording"}, "junk"])
    [res] = ledger.unreported()
    assert res["id"] == "cmd_1" and "max_duration_sec" in res["error"]


def test_interrupted_command_is_failed_after_restart(ledger):
    ledger.claim("cmd_9", "start_recording", None)
    assert ledger.recover() == 1
    assert ledger.unreported()[0]["error"] == "interrupted by agent restart"


def test_parse_defaults_and_errors():
    cmd = parse_command({"id": "c", "type": "stop_recording"})
    assert (cmd.max_duration_sec, cmd.upload_immediately, cmd.metadata, cmd.expires_at) == (
        3600,
        True,
        {},
        None,
    )
    with pytest.raises(CommandError, match="type 'reboot'"):
        parse_command({"id": "c", "type": "reboot"})
    with pytest.raises(CommandError, match="upload_immediately"):
        parse_command(
            {"id": "c", "type": "start_recording", "params": {"upload_immediately": "yes"}}
        )
    with pytest.raises(CommandError, match="expires_at"):
        parse_command({"id": "c", "type": "start_recording", "expires_at": "tomorrow"})

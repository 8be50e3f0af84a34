"""The agent's wiring in-process: signals, local triggers, liveness through the upload gate, and the
shutdown order. Capture and uploader are small stand-ins here (each has its own tests; the real ones
run in tests/test_agent_e2e.py); the notify socket, the SQLite ledger and the signals are real.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time

from device.agent import Agent, Parts
from device.commands import CommandLedger
from device.config import AgentConfig, Config, UploadConfig
from device.gate import ALLOW_ALL
from device.sdnotify import Notifier
from device.workers import LivenessGate


class StandInCapture:
    """Frames 'flow' while recording: the progress counter grows on every read."""

    def __init__(self):
        self.state = "idle"
        self.frames = 0
        self.starts, self.stops = [], 0
        self.frozen = False

    def start(self, metadata, max_duration):
        self.state = "recording"
        self.starts.append(metadata)
        return f"lrec_{len(self.starts)}"

    def stop(self, timeout=30.0):
        self.state = "idle"
        self.stops += 1
        return f"lrec_{len(self.starts)}"

    def progress(self):
        if self.state == "recording" and not self.frozen:
            self.frames += 1
        return {"frames": self.frames}


@dataclasses.dataclass
class Step:
    action: str
    wait_s: float | None = None


class StandInUploader:
    """Uploads 'files' in chunks through the gate; can be told to hang in the middle of one."""

    def __init__(self, gate):
        self.gate = gate
        self.wake_event = threading.Event()
        self.hang = threading.Event()
        self.release = threading.Event()
        self.chunks = 0
        self.aborted = 0

    def step(self):
        if not self.gate.before_file(1000).allowed:
            return Step("idle", 0.05)
        for i in range(5):
            if self.hang.is_set():
                self.release.wait()
            if not self.gate.between_chunks(i * 200, 1000).allowed:
                self.aborted += 1
                return Step("idle", 0.05)
            self.chunks += 1
            time.sleep(0.01)
        return Step("put")


def make_agent(tmp_path, notify=None, **agent_kw):
    cfg = Config(
        agent=dataclasses.replace(
            AgentConfig(), upload_deadline_s=0.5, capture_deadline_s=0.5, **agent_kw
        ),
        upload=dataclasses.replace(UploadConfig(), poll_interval_s=0.05),
    )
    capture = StandInCapture()
    gate = LivenessGate(ALLOW_ALL)
    uploader = StandInUploader(gate)
    ledger = CommandLedger(tmp_path / "ledger.db")
    parts = Parts(
        spool=None,
        ledger=ledger,
        capture=capture,
        uploader=uploader,
        gate=gate,
        closers=[ledger.close],
    )
    notifier = Notifier(
        {"NOTIFY_SOCKET": notify.env_value, "WATCHDOG_USEC": "400000"} if notify else {}
    )
    agent = Agent(cfg, parts, notifier)
    agent.supervisor.tick_s = 0.05
    return agent, capture, uploader


def _later(seconds, fn):
    t = threading.Timer(seconds, fn)
    t.daemon = True
    t.start()
    return t


def _signal_self_later(seconds: float, signum: int) -> threading.Timer:
    """Signal this (pytest) process, but only while the agent's handler is installed: a signal that
    arrived before `run()` set its handlers or after it restored them would end the test run."""

    def send() -> None:
        if callable(signal.getsignal(signum)):
            os.kill(os.getpid(), signum)

    return _later(seconds, send)


def test_sigterm_closes_recording_and_stops_uploads_between_chunks(tmp_path, notify_socket):
    agent, capture, uploader = make_agent(tmp_path, notify_socket)
    timers = [_signal_self_later(0.3, signal.SIGUSR1), _signal_self_later(1.0, signal.SIGTERM)]
    started = time.monotonic()
    try:
        status = agent.run(duration_s=20)
    finally:
        for timer in timers:
            timer.cancel()
    assert status == 0
    assert time.monotonic() - started < 5
    assert capture.starts == [{"trigger": "signal SIGUSR1"}]
    assert capture.stops == 1 and capture.state == "idle"
    assert uploader.chunks > 0
    notify_socket.wait_for("READY", "1")
    notify_socket.wait_for("STOPPING", "1")
    assert notify_socket.with_key("WATCHDOG")


def test_hung_uploader_stops_the_watchdog(tmp_path, notify_socket):
    agent, capture, uploader = make_agent(tmp_path, notify_socket, shutdown_timeout_s=0.3)
    _later(0.5, uploader.hang.set)
    try:
        status = agent.run(duration_s=2.0)
    finally:
        uploader.release.set()
    assert status == 0 and agent.left_running == ["upload"], (
        "left behind, spool not closed under it"
    )
    assert "upload" in agent.supervisor.stalled()
    pings = notify_socket.with_key("WATCHDOG")
    assert pings and time.monotonic() - pings[-1][0] > 0.8
    assert any(m.get("STATUS") == "worker upload stalled" for _, m in notify_socket.messages)


def test_frozen_capture_stops_the_watchdog_but_idle_does_not(tmp_path, notify_socket):
    agent, capture, uploader = make_agent(tmp_path, notify_socket)
    trigger = _signal_self_later(0.2, signal.SIGUSR1)
    _later(0.6, lambda: setattr(capture, "frozen", True))
    try:
        agent.run(duration_s=2.0)
    finally:
        trigger.cancel()
    assert agent.supervisor.stalled() == {"capture"}


def test_snapshot_reports_recording_and_error(tmp_path):
    agent, capture, uploader = make_agent(tmp_path)
    capture.state = "recording"
    assert agent.snapshot().device_state == "recording"
    agent.supervisor._stalled = {"upload"}
    assert agent.snapshot().device_state == "error"


def test_three_worker_deaths_end_the_agent_with_status_1(tmp_path, notify_socket):
    agent, capture, uploader = make_agent(
        tmp_path, notify_socket, restart_backoff_base_s=0.05, restart_backoff_max_s=0.1
    )

    def broken_step():
        raise OSError("spool disk gone")

    uploader.step = broken_step
    assert agent.run(duration_s=20) == 1
    assert agent.supervisor.deaths()["upload"] == 3
    statuses = [m.get("STATUS", "") for _, m in notify_socket.messages]
    assert any("worker upload died" in s for s in statuses)
    assert any("3 deaths" in s for s in statuses)

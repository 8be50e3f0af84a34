"""The daemon: capture watch, upload, heartbeat and modem watch as supervised worker threads, joined
only through the spool and events; signals, sd_notify, and an orderly shutdown within seconds.

`Parts` holds what `device.parts.build()` made from the config; the agent only wires and supervises.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from device import __version__
from device.commands import CommandLedger, CommandRunner
from device.config import Config
from device.errors import RecorderError
from device.heartbeat import DeviceSnapshot, HeartbeatWorker
from device.recording_control import CaptureLike, RecordingControl
from device.sdnotify import Notifier
from device.snapshot import SnapshotSources, take_snapshot
from device.supervisor import RestartPolicy, Supervisor, WorkerSpec
from device.triggers import Schedule, SignalTrigger
from device.workers import CaptureWatch, LivenessGate, ModemWatch, UploaderLike, UploadLoop

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """Everything the agent drives, built from the config (None: that part is absent)."""

    spool: Any
    ledger: CommandLedger
    api: Any = None
    capture: CaptureLike | None = None
    uploader: UploaderLike | None = None
    gate: LivenessGate | None = None
    modem_status: Callable[[], Any] | None = None
    power: Any = None
    links: Callable[[], tuple[str, ...]] | None = None
    holds: Any = None  # UploadHolds
    timebase: Any = None  # device.clock.TimeBase the capture stamps media with
    closers: list[Callable[[], None]] = field(default_factory=list)


class Agent:
    """Builds the workers from the parts, runs them under the supervisor, shuts down in order."""

    def __init__(self, config: Config, parts: Parts, notifier: Notifier | None = None) -> None:
        self.config, self.parts = config, parts
        self.notifier = notifier or Notifier()
        self.until = threading.Event()  # set by SIGTERM/SIGINT or --duration
        self.stop = threading.Event()  # tells workers to stop (set during shutdown)
        self.control = (
            RecordingControl(
                parts.capture, config.capture.max_duration_seconds, self.stop, parts.holds
            )
            if parts.capture
            else None
        )
        self.signal_trigger = (
            SignalTrigger() if config.agent.trigger_signal and parts.capture else None
        )
        self.modem_watch = (
            ModemWatch(
                parts.modem_status,
                config.modem.poll_interval_s,
                self._changed,
                on_status=self._modem_status,
            )
            if parts.modem_status
            else None
        )
        self.upload_loop = (
            UploadLoop(parts.uploader, parts.gate, config.upload.poll_interval_s)
            if parts.uploader
            else None
        )
        if parts.gate is not None:
            parts.gate.attach(lambda: self.upload_loop.ctx if self.upload_loop else None, self.stop)
        self.heartbeat = self._heartbeat() if parts.api else None
        self.supervisor = Supervisor(
            self._specs(), self._policy(), self.notifier, self._on_event, stop_event=self.stop
        )
        self._last_state = ""
        self.left_running: list[str] = []

    # -- construction ---------------------------------------------------------------------------
    def _policy(self) -> RestartPolicy:
        a = self.config.agent
        return RestartPolicy(
            a.restart_backoff_base_s, a.restart_backoff_max_s, a.max_worker_deaths, a.death_window_s
        )

    def _heartbeat(self) -> HeartbeatWorker:
        cfg = self.config
        runner = CommandRunner(self.parts.ledger, self.control or _NoCapture())
        return HeartbeatWorker(
            self.parts.api,
            self.snapshot,
            self.parts.ledger,
            runner,
            interval_s=cfg.heartbeat.interval_seconds,
            retry_s=cfg.agent.heartbeat_retry_s,
            firmware_version=cfg.agent.firmware_version or __version__,
            name=cfg.agent.name,
            device_id=cfg.api.device_id,
        )

    def _specs(self) -> list[WorkerSpec]:
        cfg, a = self.config, self.config.agent
        specs = []
        if self.control is not None:
            schedule = Schedule(a.schedule, cfg.upload.timezone) if a.schedule else None
            watch = CaptureWatch(
                self.control,
                self._changed,
                schedule,
                self.signal_trigger,
                schedule_s=a.schedule_duration_s,
                on_media=self._new_media,
            )
            specs.append(WorkerSpec("capture", watch.run, a.capture_deadline_s))
        if self.upload_loop is not None:
            specs.append(WorkerSpec("upload", self.upload_loop.run, a.upload_deadline_s))
        if self.heartbeat is not None:
            hb_deadline = (
                a.heartbeat_deadline_s or cfg.api.connect_timeout_s + cfg.api.read_timeout_s + 10
            )
            specs.append(WorkerSpec("heartbeat", self.heartbeat.run, hb_deadline))
        if self.modem_watch is not None:
            m = cfg.modem
            modem_deadline = a.modem_deadline_s or (
                m.timeout_cpin_s
                + m.timeout_csq_s
                + m.timeout_cops_query_s
                + m.timeout_pdp_s
                + m.timeout_reset_s
                + 6 * m.timeout_default_s
                + 10
            )
            specs.append(WorkerSpec("modem", self.modem_watch.run, modem_deadline))
        return specs

    # -- running ---------------------------------------------------------------------------------
    def run(self, duration_s: float | None = None) -> int:
        """Run until SIGTERM/SIGINT (or `duration_s`); the exit status for the process."""
        self._install_signals()
        if self.parts.holds is not None:
            self.parts.holds.release_all()
        recovered = self.parts.ledger.recover()
        if recovered:
            log.warning(
                "%d command(s) were interrupted by the last shutdown; reported as failed", recovered
            )
        self.supervisor.start()
        self.notifier.ready(self._status_line())
        log.info("agent running: workers %s", ", ".join(self.supervisor.names()))
        status = 0
        try:
            status = self._loop(duration_s)
        finally:
            status = self.shutdown() or status
        return status

    def _loop(self, duration_s: float | None) -> int:
        end = None if duration_s is None else time.monotonic() + duration_s
        while not self.until.is_set():
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                log.info("--duration reached")
                break
            status = self.supervisor.run(self.until, min(5.0, left) if left is not None else 5.0)
            if status:
                return status
            self.notifier.status(self._status_line())
        return 0

    def shutdown(self) -> int:
        """Close the segment, stop uploads between chunks, join workers, close the spool.

        Every spool change is already durable when committed (WAL, synchronous=FULL); a worker still
        blocked in the network after the timeout is left behind (its daemon thread ends with the
        process) and the parts it uses are not closed under it: the next start redoes that step.
        """
        started = time.monotonic()
        budget = self.config.agent.shutdown_timeout_s
        self.notifier.stopping()
        log.info("shutting down")
        self.stop.set()  # every worker starts stopping now, while capture closes its segment
        if self.heartbeat is not None:
            self.heartbeat.wake.set()
        if self.control is not None:
            _quietly(lambda: self.control.shutdown(budget * 0.75))
        left = max(0.1, budget - (time.monotonic() - started))
        self.left_running = self.supervisor.shutdown(left)
        if self.parts.capture is not None and self.parts.capture.state != "idle":
            log.error("capture did not close its segment within %.1f s", budget * 0.75)
            self.left_running.append("capture")
        if self.left_running:
            log.warning("not closing the spool under %s; the next start resumes", self.left_running)
        else:
            for close in reversed(self.parts.closers):
                _quietly(close)
        self._uninstall_signals()
        log.info("stopped in %.2f s", time.monotonic() - started)
        return 0

    # -- state --------------------------------------------------------------------------------
    def snapshot(self) -> DeviceSnapshot:
        sources = SnapshotSources(
            config=self.config,
            spool=self.parts.spool,
            capture=self.parts.capture,
            uploading=bool(self.parts.gate and self.parts.gate.busy),
            power=self.parts.power,
            modem=self.modem_watch.latest if self.modem_watch else None,
            links=self.parts.links,
            trouble=bool(self.supervisor.stalled() or self.supervisor.waiting_restart()),
        )
        return take_snapshot(sources)

    def _changed(self) -> None:
        """A state change: heartbeat now (the cloud sees recording start/stop at once)."""
        if self.heartbeat is not None:
            self.heartbeat.wake.set()

    def _modem_status(self, status: Any) -> None:
        """The network's time (NITZ) makes wall time valid for stamping media, once."""
        timebase = self.parts.timebase
        when = getattr(status, "network_time", None)
        if timebase is not None and when is not None and not timebase.valid():
            timebase.network_time(when, source="modem")

    def _new_media(self) -> None:
        wake = getattr(self.parts.uploader, "wake", None)
        if wake is not None:
            wake()

    def _on_event(self, kind: str, text: str) -> None:
        self._changed()

    def _status_line(self) -> str:
        state = self.parts.capture.state if self.parts.capture else "no capture"
        hb = f"heartbeats {self.heartbeat.sent}" if self.heartbeat else "no heartbeat"
        up = f"uploads {self.upload_loop.steps} steps" if self.upload_loop else "no uploader"
        return f"{state}; {up}; {hb}"

    # -- signals ---------------------------------------------------------------------------------
    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._previous = {
            s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)
        }
        if self.signal_trigger is not None:
            self.signal_trigger.install()

    def _uninstall_signals(self) -> None:
        for signum, handler in getattr(self, "_previous", {}).items():
            signal.signal(signum, handler)
        if self.signal_trigger is not None:
            self.signal_trigger.uninstall()

    def _on_signal(self, signum: int, frame: object) -> None:
        self.until.set()


class _NoCapture:
    """Recorder for a device configured without capture: every command fails with the reason."""

    def start_recording(self, cmd: Any) -> dict[str, Any]:
        raise RecorderError("this device has no capture configured (audio and camera absent)")

    stop_recording = start_recording


def _quietly(close: Callable[[], None]) -> None:
    try:
        close()
    except Exception as exc:  # noqa: BLE001 - shutdown goes on; the failure is logged once
        log.error("while closing %r: %s", close, exc)

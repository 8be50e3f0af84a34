"""The agent's worker loops: capture watch, upload, modem watch. Each takes a WorkerContext and
reports progress with `ctx.beat()`, so the supervisor can tell a busy worker from a hung one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from device.gate import GateDecision, UploadGate
from device.recording_control import RecordingControl
from device.supervisor import WorkerContext
from device.triggers import Schedule, SignalTrigger

log = logging.getLogger(__name__)
IDLE_POLL_S = 5.0


class StepLike(Protocol):
    action: str  # create, url, put, complete, or idle
    wait_s: float | None  # when idle: how long until something may be runnable


class UploaderLike(Protocol):
    wake_event: threading.Event

    def step(self) -> StepLike: ...  # one unit of work (one request or one PUT)


class LivenessGate:
    """Wraps the upload gate: each question is progress (a beat), and shutdown stops a PUT between
    chunks (the file is retried from the start on the next run: a presigned PUT cannot resume)."""

    def __init__(self, inner: UploadGate) -> None:
        self.inner = inner
        self.ctx_ref: Callable[[], WorkerContext | None] = lambda: None
        self.stop = threading.Event()
        self.busy = False

    def attach(self, ctx_ref: Callable[[], WorkerContext | None], stop: threading.Event) -> None:
        """Called by the agent: whose liveness to report, and the shutdown event."""
        self.ctx_ref, self.stop = ctx_ref, stop

    def _beat(self) -> None:
        ctx = self.ctx_ref()
        if ctx is not None:
            ctx.beat()

    def before_file(self, size_bytes: int) -> GateDecision:
        self._beat()
        if self.stop.is_set():
            return GateDecision(False, "agent shutting down")
        decision = self.inner.before_file(size_bytes)
        self.busy = decision.allowed
        return decision

    def between_chunks(self, bytes_sent: int, size_bytes: int) -> GateDecision:
        self._beat()
        if self.stop.is_set():
            return GateDecision(False, "agent shutting down")
        return self.inner.between_chunks(bytes_sent, size_bytes)


class UploadLoop:
    """Drives the uploader one step at a time, beating after each; when idle, waits for new work
    (the uploader's wake event), its own hint, or the poll interval, whichever comes first."""

    def __init__(self, uploader: UploaderLike, gate: LivenessGate, poll_s: float) -> None:
        self.uploader, self.gate, self.poll_s = uploader, gate, poll_s
        self.ctx: WorkerContext | None = None
        self.steps = 0

    def run(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        while not ctx.stopping:
            result = self.uploader.step()
            ctx.beat()
            if result.action != "idle":
                self.steps += 1
                continue
            self.gate.busy = False
            wait = self.poll_s if result.wait_s is None else min(result.wait_s, self.poll_s)
            self._idle(ctx, max(wait, 0.01))

    def _idle(self, ctx: WorkerContext, seconds: float) -> None:
        ctx.beat(quiet_s=seconds)
        end = time.monotonic() + seconds
        while not ctx.stopping and (left := end - time.monotonic()) > 0:
            if self.uploader.wake_event.wait(min(left, 0.5)):
                self.uploader.wake_event.clear()
                break
        ctx.beat()


class CaptureWatch:
    """Watches the capture controller: beats while frames flow (or while idle), fires local
    triggers (schedule, SIGUSR1), and calls `on_change` when the capture state changes."""

    def __init__(
        self,
        control: RecordingControl,
        on_change: Callable[[], None],
        schedule: Schedule | None,
        signal_trigger: SignalTrigger | None,
        poll_s: float = 0.5,
        schedule_s: float | None = None,
        on_media: Callable[[], None] = lambda: None,
    ) -> None:
        self.schedule_s, self.on_media = schedule_s, on_media
        self._next_poll = 0.0
        self.control, self.on_change = control, on_change
        self.schedule, self.signal_trigger, self.poll_s = schedule, signal_trigger, poll_s
        self._last_state = ""
        self._last_progress: Mapping[str, int] = {}

    def run(self, ctx: WorkerContext) -> None:
        while not ctx.stopping:
            self._triggers()
            self._watch(ctx)
            if self.control.capture.state != "recording":
                self._idle_chores()
                ctx.beat()
            self.control.stop_event_wait(self.poll_s)  # wakes early when stopping

    def _idle_chores(self) -> None:
        """Now and then while idle: the controller closes or stamps recordings it had to hold."""
        poll = getattr(self.control.capture, "poll", None)
        if poll is not None and time.monotonic() >= self._next_poll:
            self._next_poll = time.monotonic() + IDLE_POLL_S
            poll()

    def _triggers(self) -> None:
        if self.signal_trigger is not None and self.signal_trigger.take():
            self.control.toggle("signal SIGUSR1")
        if self.schedule is not None and self.schedule.due(datetime.now(UTC)):
            self.control.start_local("schedule", self.schedule_s)

    def _watch(self, ctx: WorkerContext) -> None:
        state = self.control.capture.state
        progress = dict(self.control.capture.progress())
        if state == "recording" and progress != self._last_progress:
            ctx.beat()
        if _files(progress) != _files(self._last_progress):
            self.on_media()  # a segment or a still reached the spool: the uploader may start
        self._last_progress = progress
        if state != self._last_state:
            log.info("capture state: %s", state)
            self._last_state = state
            self.control.state_changed(state)
            self.on_change()


def _files(progress: Mapping[str, int]) -> tuple[int, int]:
    return progress.get("segments", 0), progress.get("images", 0)


class ModemWatch:
    """Polls the modem's status every `poll_s` and keeps the latest for heartbeats and status."""

    def __init__(
        self,
        read_status: Callable[[], Any],
        poll_s: float,
        on_change: Callable[[], None],
        on_status: Callable[[Any], None] = lambda status: None,
    ) -> None:
        self.read_status, self.poll_s, self.on_change = read_status, poll_s, on_change
        self.on_status = on_status
        self.latest: Any = None
        self.error: str = ""

    def run(self, ctx: WorkerContext) -> None:
        while not ctx.stopping:
            self.poll_once()
            ctx.beat()
            if ctx.sleep(self.poll_s):
                return

    def poll_once(self) -> None:
        try:
            status = self.read_status()
        except Exception as exc:  # noqa: BLE001 - a dead modem must not stop the agent; logged once
            if str(exc) != self.error:
                log.warning("modem status unavailable: %s", exc)
            self.error = str(exc)
            return
        changed = _key(status) != _key(self.latest)
        self.latest, self.error = status, ""
        self.on_status(status)
        if changed:
            log.info("modem: %s", _key(status))
            self.on_change()


def _key(status: Any) -> tuple:
    if status is None:
        return ()
    return tuple(
        getattr(status, k, None)
        for k in ("sim", "registration", "access_technology", "data_session")
    )

"""Worker threads under supervision: liveness deadlines, restart with backoff, a death limit.

Each worker is a function taking a `WorkerContext`; it calls `ctx.beat()` whenever it makes progress
and `ctx.sleep(s)` to wait (which also says "I will be quiet for s seconds"). The supervisor's loop,
on the main thread, restarts a worker that died (with exponential backoff), gives up after too many
deaths in a window (the process then exits non-zero so systemd restarts it), and pings the systemd
watchdog only while every worker is within its deadline: a hung uploader stops the pings.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from device.errors import RecorderError
from device.sdnotify import Notifier

log = logging.getLogger(__name__)


class TooManyDeaths(RecorderError, RuntimeError):
    """Workers died `count` times within `window_s`: the process should end and be restarted."""

    def __init__(self, worker: str, count: int, window_s: float) -> None:
        super().__init__(f"worker {worker!r}: {count} deaths within {window_s:g} s; giving up")
        self.worker, self.count, self.window_s = worker, count, window_s


@dataclass(frozen=True)
class RestartPolicy:
    """How soon a dead worker comes back, and how many deaths (of any worker) end the process."""

    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    max_deaths: int = 3
    window_s: float = 600.0

    def delay(self, recent_deaths: int) -> float:
        """Delay before the restart after the n-th recent death (1, 2, 4, ... capped)."""
        return min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, recent_deaths - 1))


@dataclass(frozen=True)
class WorkerSpec:
    name: str
    target: Callable[[WorkerContext], None]
    deadline_s: float  # longest silence (between beats) that still counts as alive


class WorkerContext:
    """What a worker sees: the stop event, and the liveness calls."""

    def __init__(self, name: str, stop: threading.Event, deadline_s: float, clock=time.monotonic):
        self.name = name
        self.stop = stop
        self.deadline_s = deadline_s
        self._clock = clock
        self._due = clock() + deadline_s
        self.beats = 0

    def beat(self, quiet_s: float = 0.0) -> None:
        """Progress made; the next beat is due within the deadline (plus `quiet_s`)."""
        self._due = self._clock() + self.deadline_s + max(0.0, quiet_s)
        self.beats += 1

    def sleep(self, seconds: float) -> bool:
        """Wait up to `seconds` (cut short by stop); True if stopping."""
        self.beat(quiet_s=seconds)
        stopping = self.stop.wait(max(0.0, seconds))
        self.beat()
        return stopping

    @property
    def stopping(self) -> bool:
        return self.stop.is_set()

    def overdue_s(self) -> float:
        """Seconds past the deadline (0 while alive)."""
        return max(0.0, self._clock() - self._due)


class _Slot:
    """One worker: its spec, its current thread and context, and when it may restart."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.thread: threading.Thread | None = None
        self.ctx: WorkerContext | None = None
        self.error: BaseException | None = None
        self.restart_at: float | None = None
        self.deaths = 0


class Supervisor:
    """Runs the workers and the watchdog loop; `run()` returns the process exit status."""

    def __init__(
        self,
        specs: list[WorkerSpec],
        policy: RestartPolicy = RestartPolicy(),
        notifier: Notifier | None = None,
        on_event: Callable[[str, str], None] | None = None,
        tick_s: float = 0.5,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.policy = policy
        self.notifier = notifier or Notifier({})
        self.on_event = on_event or (lambda kind, text: None)
        self.stop_event = stop_event or threading.Event()
        self.tick_s = tick_s
        self._slots = {spec.name: _Slot(spec) for spec in specs}
        self._deaths: deque[float] = deque()
        self._stalled: set[str] = set()
        self.watchdog_pings = 0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        for slot in self._slots.values():
            self._launch(slot)

    def run(self, until: threading.Event | None = None, duration_s: float | None = None) -> int:
        """Supervise until `until` is set (or `duration_s` passes); 0, or 1 after too many deaths."""
        until = until or threading.Event()
        end = None if duration_s is None else time.monotonic() + duration_s
        ping_every = min(self.tick_s, (self.notifier.watchdog_s or 2 * self.tick_s) / 2)
        while not until.is_set() and (end is None or time.monotonic() < end):
            try:
                self.check()
            except TooManyDeaths as exc:
                log.error("%s", exc)
                self.notifier.status(str(exc))
                return 1
            until.wait(ping_every)
        return 0

    def shutdown(self, timeout_s: float) -> list[str]:
        """Ask every worker to stop and join them within `timeout_s`; names of those still running."""
        self.stop_event.set()
        deadline = time.monotonic() + timeout_s
        for slot in self._slots.values():
            if slot.thread is not None:
                slot.thread.join(max(0.0, deadline - time.monotonic()))
        left = [s.spec.name for s in self._slots.values() if s.thread and s.thread.is_alive()]
        if left:
            log.error("workers still running after %.1f s: %s", timeout_s, ", ".join(left))
        return left

    # -- one pass of the loop ---------------------------------------------------------------
    def check(self) -> bool:
        """Handle deaths and restarts, ping the watchdog if all are alive; True if healthy."""
        now = time.monotonic()
        for slot in self._slots.values():
            self._check_slot(slot, now)
        healthy = self._healthy()
        if healthy:
            self.watchdog_pings += self.notifier.watchdog()
        return healthy

    def _check_slot(self, slot: _Slot, now: float) -> None:
        if slot.restart_at is not None:
            if now >= slot.restart_at and not self.stop_event.is_set():
                log.info("restarting worker %s", slot.spec.name)
                self._launch(slot)
            return
        if slot.thread is not None and not slot.thread.is_alive() and not self.stop_event.is_set():
            self._died(slot, now)

    def _died(self, slot: _Slot, now: float) -> None:
        name = slot.spec.name
        why = repr(slot.error) if slot.error else "returned unexpectedly"
        self._deaths.append(now)
        while self._deaths and now - self._deaths[0] > self.policy.window_s:
            self._deaths.popleft()
        slot.deaths += 1
        recent = len(self._deaths)
        log.error("worker %s died (%s); %d death(s) in the window", name, why, recent)
        self.on_event("worker_died", f"{name}: {why}")
        self.notifier.status(f"worker {name} died: {why}")
        if recent >= self.policy.max_deaths:
            raise TooManyDeaths(name, recent, self.policy.window_s)
        delay = self.policy.delay(recent)
        slot.restart_at = now + delay
        log.info("worker %s restarts in %.1f s", name, delay)

    def _healthy(self) -> bool:
        stalled = set()
        for name, slot in self._slots.items():
            alive = slot.thread is not None and slot.thread.is_alive()
            if alive and slot.ctx is not None and slot.ctx.overdue_s() > 0:
                stalled.add(name)
        for name in stalled - self._stalled:
            overdue = self._slots[name].ctx.overdue_s()  # type: ignore[union-attr]
            log.error(
                "worker %s made no progress (%.1f s past its deadline): watchdog pings stop",
                name,
                overdue,
            )
            self.on_event("worker_stalled", name)
            self.notifier.status(f"worker {name} stalled")
        for name in self._stalled - stalled:
            log.info("worker %s is making progress again", name)
        self._stalled = stalled
        return not stalled

    # -- threads -----------------------------------------------------------------------------
    def _launch(self, slot: _Slot) -> None:
        spec = slot.spec
        ctx = WorkerContext(spec.name, self.stop_event, spec.deadline_s)
        slot.ctx, slot.error, slot.restart_at = ctx, None, None
        slot.thread = threading.Thread(
            target=self._body, args=(slot, ctx), name=f"worker-{spec.name}", daemon=True
        )
        slot.thread.start()

    def _body(self, slot: _Slot, ctx: WorkerContext) -> None:
        try:
            slot.spec.target(ctx)
        except Exception as exc:  # noqa: BLE001 - any crash is reported and the worker restarted
            slot.error = exc
            log.exception("worker %s crashed", slot.spec.name)

    # -- introspection -------------------------------------------------------------------------
    def stalled(self) -> set[str]:
        return set(self._stalled)

    def names(self) -> list[str]:
        return list(self._slots)

    def waiting_restart(self) -> set[str]:
        """Workers that died and wait out their backoff."""
        return {name for name, slot in self._slots.items() if slot.restart_at is not None}

    def deaths(self) -> dict[str, int]:
        return {name: slot.deaths for name, slot in self._slots.items()}

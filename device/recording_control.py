"""The one place that starts and stops capture: remote commands, the schedule and SIGUSR1 all come
here, so two triggers cannot start two recordings and every start is logged with its reason."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from device.clock import utc_now_iso
from device.commands import Command
from device.errors import RecorderError

log = logging.getLogger(__name__)


class CaptureLike(Protocol):
    """The capture controller as the agent drives it."""

    @property
    def state(self) -> str: ...  # idle | recording | storageFull

    def start(self, metadata: dict[str, Any], max_duration: float) -> str: ...

    def stop(self, timeout: float | None = 30.0) -> str | None: ...

    def progress(self) -> Mapping[str, int]: ...  # counters that grow while capture works


class CaptureBusy(RecorderError, RuntimeError):
    """A start was asked while a recording runs (names it)."""

    def __init__(self, recording_id: str) -> None:
        super().__init__(f"already recording {recording_id}; stop it first")
        self.recording_id = recording_id


class NotRecording(RecorderError, RuntimeError):
    """A stop was asked while nothing records."""

    def __init__(self) -> None:
        super().__init__("not recording")


class RecordingControl:
    """Serialises starts and stops; implements the command runner's Recorder protocol."""

    def __init__(
        self, capture: CaptureLike, default_max_s: float, stop: threading.Event, holds: Any = None
    ) -> None:
        self.capture = capture
        self.default_max_s = default_max_s
        self.stop = stop
        self.holds = holds  # UploadHolds: upload_immediately=false waits for the recording's end
        self.held: set[str] = set()
        self.current: str | None = None
        self._lock = threading.Lock()

    # -- the command runner's Recorder protocol --------------------------------------------
    def start_recording(self, cmd: Command) -> dict[str, Any]:
        metadata = dict(cmd.metadata)
        metadata.setdefault("command_id", cmd.id)
        rid, started = self._start(metadata, float(cmd.max_duration_sec), f"command {cmd.id}")
        if not cmd.upload_immediately and self.holds is not None:
            self.holds.hold(rid)
            self.held.add(rid)
        return {"recording_id": rid, "started_at": started}

    def stop_recording(self, cmd: Command) -> dict[str, Any]:
        return {"recording_id": self._stop(f"command {cmd.id}")}

    # -- local triggers ----------------------------------------------------------------------
    def start_local(self, why: str, max_s: float | None = None) -> str | None:
        try:
            rid, _ = self._start({"trigger": why}, max_s or self.default_max_s, why)
        except RecorderError as exc:
            log.warning("%s: cannot start: %s", why, exc)
            return None
        return rid

    def toggle(self, why: str) -> None:
        if self.capture.state != "idle":
            try:
                self._stop(why)
            except RecorderError as exc:
                log.warning("%s: cannot stop: %s", why, exc)
        else:
            self.start_local(why)

    # -- the agent ----------------------------------------------------------------------------
    def state_changed(self, state: str) -> None:
        if state == "idle" and self.current is not None:
            log.info("recording %s ended", self.current)
            if self.current in self.held:
                self.held.discard(self.current)
                self.holds.release(self.current)
            self.current = None

    def stop_event_wait(self, seconds: float) -> bool:
        return self.stop.wait(seconds)

    def shutdown(self, timeout_s: float = 3.0) -> str | None:
        """Close the current recording at the current frame (SIGTERM)."""
        with self._lock:
            if self.capture.state == "idle":
                return None
            rid = self.capture.stop(timeout_s)
            log.info("shutdown: recording %s closed", rid)
            return rid

    # -- internals ----------------------------------------------------------------------------
    def _start(self, metadata: dict[str, Any], max_s: float, why: str) -> tuple[str, str]:
        with self._lock:
            if self.stop.is_set():
                raise RecorderError("agent is shutting down")
            if self.capture.state != "idle":
                raise CaptureBusy(self.current or "(unknown)")
            started = utc_now_iso()
            rid = self.capture.start(metadata, max_s)
            self.current = rid
            log.info("recording %s started by %s (at most %.0f s)", rid, why, max_s)
            return rid, started

    def _stop(self, why: str) -> str:
        with self._lock:
            if self.capture.state == "idle":
                raise NotRecording()
            rid = self.capture.stop() or self.current or ""
            log.info("recording %s stopped by %s", rid, why)
            return rid

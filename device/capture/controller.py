"""The capture controller the agent and `recorder record` drive: start, stop, state, counters.

One recording at a time, run by one capture thread; the thread touches only the microphone, the
camera's frame ring, the encoder and the spool, never the network or the uploader.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from device.capture import restamp
from device.capture.errors import AlreadyRecording
from device.capture.segments import SegmentPlan
from device.capture.session import Request, Session
from device.capture.stills import PeriodicStills
from device.clock import TimeBase
from device.spool import Spool
from hal.audio import Microphone
from hal.camera import Camera

log = logging.getLogger(__name__)
IDLE, RECORDING, STORAGE_FULL = "idle", "recording", "storageFull"


class CaptureController:
    """`start(metadata, max_duration) -> local recording id`; `stop()`; `state`; `counters()`."""

    def __init__(
        self,
        spool: Spool,
        plan: SegmentPlan,
        timebase: TimeBase,
        make_microphone: Callable[[], Microphone],
        make_camera: Callable[[], Camera | None] = lambda: None,
        still_interval: float = 0.0,
        max_duration_cap: float = 86400.0,
    ) -> None:
        self.spool, self.plan, self.timebase = spool, plan, timebase
        self._make_mic, self._make_camera = make_microphone, make_camera
        self.still_interval = still_interval
        self.max_duration_cap = max_duration_cap
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._thread: threading.Thread | None = None
        self._held: list[Session] = []  # ended, but not yet closed or not yet stamped
        self._totals = dict.fromkeys(_COUNTERS, 0)
        self._collected: Session | None = None  # the last session folded into the totals

    # --- the API -----------------------------------------------------------------------------
    def start(
        self,
        metadata: dict[str, Any] | None = None,
        max_duration: float | None = None,
        name: str | None = None,
    ) -> str:
        """Start a recording; returns its local id once the first audio frame has arrived."""
        with self._lock:
            if self._thread and self._thread.is_alive():
                raise AlreadyRecording(self._session.sink.recording_id)
            self._collect()
            session = self._new_session(metadata or {}, max_duration, name)
            rid = session.begin()
            self._session = session
            self._thread = threading.Thread(target=session.run, name="capture", daemon=True)
            self._thread.start()
        log.info("recording %s started (max %.1f s)", rid, session.request.max_duration)
        return rid

    def _new_session(
        self, metadata: dict[str, Any], max_duration: float | None, name: str | None
    ) -> Session:
        duration = min(max_duration or self.max_duration_cap, self.max_duration_cap)
        camera = self._make_camera()
        stills = PeriodicStills(camera, self.still_interval) if camera else None
        return Session(
            self.spool,
            self._make_mic(),
            stills,
            self.timebase,
            self.plan,
            Request(metadata, duration, name),
        )

    def stop(self, timeout: float | None = 30.0) -> str | None:
        """End the recording (its current segment is completed); returns its id, None if idle."""
        session, thread = self._session, self._thread
        if session is None or thread is None:
            return None
        session.stop_event.set()
        thread.join(timeout)
        with self._lock:
            self._collect()
        return session.sink.recording_id

    def close(self) -> None:
        """Stop any recording (for the agent's shutdown)."""
        self.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the recording ends by itself (max duration, end of a sim file)."""
        if self._thread:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def poll(self) -> None:
        """Call now and then while idle: closes recordings whose files waited for space and stamps
        recordings that ended before wall time was valid."""
        with self._lock:
            for session in list(self._held):
                session.restamp()
                if session.try_close() and session.timeline.anchored:
                    self._held.remove(session)
            if self.state == IDLE and not self._held:
                restamp.stamp_held(self.spool, self.timebase)  # left by earlier processes

    @property
    def state(self) -> str:
        session = self._session
        if session and self._thread and self._thread.is_alive():
            return STORAGE_FULL if session.segmenter.storage_full else RECORDING
        return IDLE

    @property
    def recording_id(self) -> str | None:
        return self._session.sink.recording_id if self.state != IDLE else None

    @property
    def last_error(self) -> BaseException | None:
        return self._session.error if self._session else None

    def counters(self) -> dict[str, Any]:
        """Totals since this controller was made, plus the running recording's figures."""
        out = dict(self._totals)
        if self._session and self._session is not self._collected:
            for key, value in _session_counters(self._session).items():
                out[key] += value
        out["dropped_frames"] = _frames(out["silence_filled"], self.plan.rate)
        out["drift_ppm"] = round(self._session.timeline.drift_ppm, 1) if self._session else 0.0
        out["held_media"] = sum(len(s.sink.pending) for s in self._held)
        return out

    def progress(self) -> dict[str, int]:
        """Counters that grow while capture works (the agent's liveness check)."""
        c = self.counters()
        return {"samples": c["samples"], "segments": c["segments"], "images": c["images"]}

    def result(self, recording_id: str) -> dict[str, Any]:
        """The recording and its media as the spool holds them, plus capture's counters."""
        session = self._session
        mine = session and session.sink.recording_id == recording_id
        media = [
            dict(row) | {"file": str(self.spool.media_path(row))}
            for row in self.spool.media_of(recording_id)
        ]
        return {
            "recording": self.spool.recording(recording_id),
            "media": media,
            "held_files": [str(m.path) for m in session.sink.pending] if mine else [],
            "counters": self._figures(session) if mine else {},
        }

    def _figures(self, session: Session) -> dict[str, Any]:
        out: dict[str, Any] = _session_counters(session)
        out["dropped_frames"] = _frames(out["silence_filled"], self.plan.rate)
        out["drift_ppm"] = round(session.timeline.drift_ppm, 1)
        return out

    # --- bookkeeping -------------------------------------------------------------------------
    def _collect(self) -> None:
        """Fold an ended session's counters into the totals; keep it if it still needs work."""
        session = self._session
        if (
            session is None
            or (self._thread and self._thread.is_alive())
            or session is self._collected
        ):
            return
        for key, value in _session_counters(session).items():
            self._totals[key] += value
        self._collected = session
        if not session.closed or not session.timeline.anchored:
            self._held.append(session)


_COUNTERS = (
    "samples",
    "segments",
    "images",
    "overruns",
    "lost_samples",
    "silence_filled",
    "discarded_samples",
    "discarded_images",
    "xruns",
    "storage_full_events",
    "clock_steps",
    "camera_errors",
)


def _session_counters(s: Session) -> dict[str, int]:
    seg = s.segmenter
    return {
        "samples": seg.position,
        "segments": seg.segments,
        "images": sum(1 for m in s.sink.media if m.type == "image"),
        "overruns": s.mic.overruns + (s.stills.ring.overruns if s.stills else 0),
        "lost_samples": s.mic.lost_samples,
        "silence_filled": seg.silence_filled,
        "discarded_samples": seg.discarded,
        "discarded_images": s.discarded_images,
        "xruns": s.mic.xruns,
        "storage_full_events": seg.full_events,
        "clock_steps": s.timeline.steps,
        "camera_errors": (s.stills.errors if s.stills else 0) + s.camera_failed,
    }


def _frames(samples: int, rate: int) -> int:
    """Samples -> 20 ms frames, rounded up (one lost sample spoils a frame)."""
    return -(-samples // max(1, rate // 50))

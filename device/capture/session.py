"""One recording, run by the capture thread: microphone -> segmenter -> spool, stills -> spool,
time validity, clock steps and drift checked once per second of audio."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from device.capture.errors import CaptureError
from device.capture.segments import AudioSegmenter, SegmentPlan
from device.capture.sink import Media, SpoolSink
from device.capture.stills import PeriodicStills
from device.clock import TimeBase, Timeline
from device.spool import Spool
from hal.audio import AudioFrame, Microphone
from hal.camera import Still
from hal.errors import HalError

log = logging.getLogger(__name__)
FIRST_FRAME_TIMEOUT_S = 5.0
READ_MS = 100  # the consumer takes up to this much audio per read


@dataclass(frozen=True)
class Request:
    metadata: dict[str, Any]
    max_duration: float
    name: str | None = None


class Session:
    """Built by the controller in start(); `run()` is the body of the capture thread."""

    def __init__(
        self,
        spool: Spool,
        mic: Microphone,
        stills: PeriodicStills | None,
        timebase: TimeBase,
        plan: SegmentPlan,
        request: Request,
    ) -> None:
        self.spool, self.mic, self.stills, self.timebase = spool, mic, stills, timebase
        self.plan, self.request = plan, request
        self.max_samples = max(1, round(request.max_duration * plan.rate))
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.ended_at: str | None = None
        self.closed = False
        self._first: AudioFrame | None = None
        self._next_tick = 0
        self.discarded_images = 0
        self.camera_failed = 0

    # --- in the caller's thread (start) -------------------------------------------------------
    def begin(self) -> str:
        """Open the microphone, wait for the first frame (it fixes the anchor), open the recording."""
        try:
            self.mic.open()
        except (HalError, OSError) as exc:
            raise CaptureError(f"cannot start audio capture: {exc}") from exc
        try:
            first = self.mic.read(
                min(self.max_samples, self.plan.rate * READ_MS // 1000), FIRST_FRAME_TIMEOUT_S
            )
        except HalError as exc:
            self.mic.close()
            raise CaptureError(f"audio capture failed at start: {exc}") from exc
        if first is None or first.monotonic_ns is None:
            self.mic.close()
            raise CaptureError(
                f"no audio from {self.mic.backend} {self.mic.device!r} within "
                f"{FIRST_FRAME_TIMEOUT_S:.0f} s"
            )
        self._first = first
        try:
            return self._open_recording(first)
        except BaseException:
            self.mic.close()
            raise

    def _open_recording(self, first: AudioFrame) -> str:
        anchor = first.monotonic_ns - first.sample * 1_000_000_000 // self.plan.rate
        self.timeline = Timeline(self.timebase, self.plan.rate, anchor)
        rid = self.spool.open_recording(
            started_at=self.timeline.at_sample(0),
            metadata=self.request.metadata,
            name=self.request.name,
        )
        self.timeline.name = rid
        self.sink = SpoolSink(self.spool, rid, self.timeline)
        self.segmenter = AudioSegmenter(self.plan, self.sink)
        if not self.timeline.anchored:
            log.warning(
                "recording %s: wall time not valid yet (policy %s); media are held with "
                "monotonic times and boot id until it is",
                rid,
                self.timebase.policy,
            )
        self._start_stills()
        return rid

    def _start_stills(self) -> None:
        """Audio always, the camera when present: a camera that cannot start is logged, not fatal."""
        if not self.stills:
            return
        try:
            self.stills.start()
        except (HalError, OSError) as exc:
            log.error(
                "recording %s: camera unavailable, recording audio only: %s",
                self.sink.recording_id,
                exc,
            )
            self.camera_failed = 1
            self.stills = None

    # --- in the capture thread ----------------------------------------------------------------
    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # noqa: BLE001 - recorded, logged once, reported by the controller
            log.error("recording %s: capture failed: %s", self.sink.recording_id, exc)
            self.error = exc
        finally:
            self._end()

    def _loop(self) -> None:
        frame, chunk = self._first, self.plan.rate * READ_MS // 1000
        while frame is not None or not self.mic.ended:
            if frame is not None:
                self.segmenter.feed(frame, self.max_samples)
            if self.segmenter.position >= self.max_samples or self.stop_event.is_set():
                return
            if self.segmenter.position >= self._next_tick:
                self._tick(frame)
            left = self.max_samples - self.segmenter.position
            frame = self.mic.read(min(chunk, left), timeout=0.5)

    def _tick(self, frame: AudioFrame | None) -> None:
        """Once per second of audio: time validity, clock steps, drift, stills."""
        self._next_tick = self.segmenter.position + self.plan.rate
        if self.timebase.check() and self.timeline.anchor():
            self.sink.stamp_held()
        self.timeline.check_step()
        if frame is not None and frame.monotonic_ns is not None:
            self.timeline.measure_drift(frame.sample, frame.monotonic_ns)
        self._drain_stills()

    def _drain_stills(self) -> None:
        """Store the stills waiting now (not those arriving meanwhile: audio comes first)."""
        for _ in range(len(self.stills.ring) if self.stills else 0):
            item = self.stills.ring.get()
            if self.segmenter.storage_full or not self._store_still(item.item):
                self.discarded_images += 1

    def _store_still(self, still: Still) -> bool:
        path = self.sink.temp_path(".jpg")
        try:
            with open(path, "wb") as fh:
                fh.write(still.jpeg)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            log.error("image could not be written: %s", exc)
            return False
        self.sink.add(Media("image", "image/jpeg", path, monotonic_ns=still.monotonic_ns))
        return True

    def _end(self) -> None:
        try:
            if self.stills:
                self.stills.stop()
        except (HalError, OSError) as exc:
            log.error("camera stop failed: %s", exc)
        self.mic.close()
        self._drain_stills()
        self.segmenter.finish()
        if self.timebase.check() and self.timeline.anchor():
            self.sink.stamp_held()
        log.info(
            "recording %s: %.1f s of audio, drift %+.1f ppm vs monotonic, %d clock steps",
            self.sink.recording_id,
            self.segmenter.position / self.plan.rate,
            self.timeline.drift_ppm,
            self.timeline.steps,
        )
        self.try_close()

    def restamp(self) -> bool:
        """If wall time became valid after the recording's end, stamp it now; True when stamped."""
        if self.timeline.anchored or not (self.timebase.check() and self.timeline.anchor()):
            return False
        self.sink.stamp_held()
        if self.closed:
            self.ended_at = self.timeline.at_sample(self.segmenter.position)
            self.spool.update_times(self.sink.recording_id, ended_at=self.ended_at)
        return True

    def try_close(self) -> bool:
        """Close the recording once the spool holds every file (files refused as full wait)."""
        if self.closed or not self.sink.retry_pending():
            return self.closed
        self.ended_at = self.timeline.at_sample(self.segmenter.position)
        self.spool.close_recording(self.sink.recording_id, ended_at=self.ended_at)
        self.closed = True
        return True

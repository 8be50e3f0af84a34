"""A camera thread taking a still every interval into a FrameRing: a slow or failing camera can
neither block audio capture nor grow memory."""

from __future__ import annotations

import logging
import threading

from hal.buffers import FrameRing
from hal.camera import Camera, Still
from hal.errors import HalError

log = logging.getLogger(__name__)
RING_FRAMES = 8


class PeriodicStills:
    """start() takes a still at once and then every `interval` seconds until stop()."""

    def __init__(self, camera: Camera, interval: float) -> None:
        self.camera, self.interval = camera, interval
        self.ring: FrameRing[Still] = FrameRing(RING_FRAMES)
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error = ""

    def start(self) -> None:
        self.camera.open()
        self._thread = threading.Thread(target=self._run, name="camera-stills", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                still = self.camera.still()
                self.ring.put(still, still.monotonic_ns)
            except (HalError, OSError) as exc:
                self._failed(exc)
            self._stop.wait(self.interval)

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        if str(exc) != self._last_error:  # log each distinct fault once, not every interval
            log.error("camera still failed (audio capture continues): %s", exc)
            self._last_error = str(exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        self.camera.close()

"""The Microphone interface: a driver thread fills a PcmRing; the consumer reads stamped frames.

Backends implement three hooks (`_open_source`, `_read_source`, `_close_source`); the base class
owns the thread, the ring buffer, capture-time stamps, pacing, the level meter and the counters.
"""

from __future__ import annotations

import array
import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from hal.audio.errors import AudioError
from hal.buffers import PcmRing

log = logging.getLogger(__name__)
RATES = (8000, 16000, 24000, 48000)
BYTES_PER_SAMPLE = 2  # S16LE mono


@dataclass(frozen=True)
class AudioFrame:
    """Mono S16LE samples; `sample` is the stream position of pcm[0] (samples since open), and
    `monotonic_ns` when that sample was captured; `lost` samples were overwritten just before."""

    pcm: bytes
    sample: int
    monotonic_ns: int | None
    lost: int
    rate: int

    @property
    def samples(self) -> int:
        return len(self.pcm) // BYTES_PER_SAMPLE


def level_dbfs(pcm: bytes) -> float:
    """RMS level of S16LE samples in dBFS (-inf for digital silence)."""
    values = array.array("h", pcm[: len(pcm) - len(pcm) % 2])
    if not values:
        return -math.inf
    mean_square = sum(v * v for v in values) / len(values)
    return 10 * math.log10(mean_square / 32768**2) if mean_square else -math.inf


class Microphone(ABC):
    """open() starts the driver thread; read() returns frames; close() stops and joins it."""

    backend = "?"

    def __init__(
        self,
        rate: int = 16000,
        device: str = "",
        *,
        buffer_seconds: float = 10.0,
        chunk_ms: int = 20,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if rate not in RATES:
            raise ValueError(f"sample rate {rate} Hz not supported (allowed: {RATES})")
        self.rate, self.device = rate, device
        self.chunk_bytes = rate * chunk_ms // 1000 * BYTES_PER_SAMPLE
        self._monotonic_ns = monotonic_ns
        self.ring = PcmRing(int(buffer_seconds * rate) * BYTES_PER_SAMPLE, rate * BYTES_PER_SAMPLE)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.level = -math.inf  # dBFS of the newest chunk the driver read
        self.xruns = 0  # overruns inside the driver/sound card, when the backend can see them
        self.opened_ns: int | None = None
        self.pace: float | None = None  # samples paced at rate*pace (sim, clockless devices)

    # --- public surface -------------------------------------------------------------
    def open(self) -> Microphone:
        if self._thread:
            raise AudioError(self.backend, self.device, "already open")
        self._open_source()
        self.opened_ns = self._monotonic_ns()
        self._thread = threading.Thread(target=self._drive, name=f"mic-{self.backend}", daemon=True)
        self._thread.start()
        return self

    def read(self, max_samples: int, timeout: float | None = None) -> AudioFrame | None:
        """Up to `max_samples`; None on timeout or at end of stream. Re-raises a driver error."""
        chunk = self.ring.read(max_samples * BYTES_PER_SAMPLE, timeout, align=BYTES_PER_SAMPLE)
        if chunk is None:
            if self._error is not None:
                raise AudioError(
                    self.backend, self.device, f"driver failed: {self._error}"
                ) from self._error
            return None
        return AudioFrame(
            chunk.data,
            chunk.position // BYTES_PER_SAMPLE,
            chunk.monotonic_ns,
            chunk.lost_before // BYTES_PER_SAMPLE,
            self.rate,
        )

    def close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None
        self.ring.close()

    @property
    def ended(self) -> bool:
        """The source is exhausted (a WAV file played to its end) and the ring is drained."""
        return self.ring.closed and len(self.ring) == 0

    @property
    def overruns(self) -> int:
        return self.ring.overruns

    @property
    def lost_samples(self) -> int:
        return self.ring.lost_bytes // BYTES_PER_SAMPLE

    def __enter__(self) -> Microphone:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the driver thread ------------------------------------------------------------
    def _drive(self) -> None:
        produced = 0
        try:
            while not self._stop.is_set():
                data = self._read_source(self.chunk_bytes)
                if not data:
                    break
                produced += len(data) // BYTES_PER_SAMPLE
                self._wait_pace(produced)
                self.ring.write(data, self._monotonic_ns())
                self.level = level_dbfs(data)
        except Exception as exc:  # noqa: BLE001 - travels to the consumer through read()
            log.error("audio %s %r: driver failed: %s", self.backend, self.device, exc)
            self._error = exc
        finally:
            self._close_source()
            self.ring.close()

    def _wait_pace(self, produced: int) -> None:
        if not self.pace:
            return
        due = self.opened_ns + int(produced * 1e9 / (self.rate * self.pace))
        delay = (due - self._monotonic_ns()) / 1e9
        if delay > 0:
            self._stop.wait(delay)

    # --- backend hooks ----------------------------------------------------------------
    @abstractmethod
    def _open_source(self) -> None:
        """Open the device or source; raise BackendUnavailable/AudioError naming what is missing."""

    @abstractmethod
    def _read_source(self, nbytes: int) -> bytes:
        """Block until up to `nbytes` of S16LE mono are captured; b'' at end of stream."""

    @abstractmethod
    def _close_source(self) -> None:
        """Release the device; called from the driver thread."""

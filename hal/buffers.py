"""Fixed-capacity capture ring buffers: one producer (the driver thread), one consumer.

The producer never waits for the consumer: when the consumer falls behind, the oldest data is
overwritten and counted in `overruns`. Memory is allocated once, at construction.
Locking: the one lock guards only index arithmetic and a memcpy, never I/O or a wait on the
other side, so the producer holds it for microseconds; `read` waits on a Condition with a deadline.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PcmChunk:
    """Bytes read from a PcmRing: `position` is the byte offset of data[0] in the whole stream,
    `monotonic_ns` the capture time of data[0] (None before the producer stamped anything)."""

    data: bytes
    position: int
    monotonic_ns: int | None
    lost_before: int  # bytes overwritten between the previous read and this one


class PcmRing:
    """A byte ring for PCM with absolute stream positions and capture-time anchors."""

    def __init__(self, capacity: int, bytes_per_second: float, anchors: int = 64) -> None:
        if capacity <= 0:
            raise ValueError(f"ring capacity must be > 0 bytes, got {capacity}")
        self.capacity = capacity
        self.bytes_per_second = bytes_per_second
        self._buf = bytearray(capacity)
        self._written = 0  # total bytes ever written
        self._read = 0  # stream position of the next byte the consumer reads
        self._anchors: deque[tuple[int, int]] = deque(maxlen=anchors)  # (end position, mono ns)
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self.overruns = 0  # times the producer overwrote unread data
        self.lost_bytes = 0  # bytes overwritten unread
        self._lost_reported = 0

    def write(self, data: bytes, end_monotonic_ns: int) -> None:
        """Producer: append `data` whose last byte was captured at `end_monotonic_ns`. Never blocks
        on the consumer; overwrites the oldest unread bytes when full."""
        skipped = max(0, len(data) - self.capacity)  # only the newest capacity bytes fit
        data = data[skipped:]
        with self._cond:
            self._written += skipped
            self._copy_in(data)
            self._written += len(data)
            self._anchors.append((self._written, end_monotonic_ns))
            behind = self._written - self._read - self.capacity
            if behind > 0:
                self.overruns += 1
                self.lost_bytes += behind
                self._read += behind
            self._cond.notify()

    def _copy_in(self, data: bytes) -> None:
        start = self._written % self.capacity
        first = min(len(data), self.capacity - start)
        self._buf[start : start + first] = data[:first]
        if first < len(data):
            self._buf[: len(data) - first] = data[first:]

    def read(self, max_bytes: int, timeout: float | None = None, align: int = 1) -> PcmChunk | None:
        """Consumer: up to `max_bytes` (a multiple of `align`); None when nothing arrived in
        `timeout` seconds or the ring is closed and drained."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._available() < align and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            return self._take(max_bytes, align)

    def _available(self) -> int:
        return self._written - self._read

    def _take(self, max_bytes: int, align: int) -> PcmChunk | None:
        n = min(max_bytes, self._available())
        n -= n % align
        if n <= 0:
            return None
        start = self._read % self.capacity
        first = min(n, self.capacity - start)
        data = bytes(self._buf[start : start + first]) + bytes(self._buf[: n - first])
        chunk = PcmChunk(data, self._read, self._stamp(self._read), self._pending_loss())
        self._read += n
        return chunk

    def _pending_loss(self) -> int:
        lost = self.lost_bytes - self._lost_reported
        self._lost_reported = self.lost_bytes
        return lost

    def _stamp(self, position: int) -> int | None:
        """Capture time of the byte at `position`, from the nearest anchor at or after it."""
        for end, mono in self._anchors:
            if end > position:
                return mono - int((end - position) * 1e9 / self.bytes_per_second)
        if not self._anchors:
            return None
        end, mono = self._anchors[-1]
        return mono - int((end - position) * 1e9 / self.bytes_per_second)

    def close(self) -> None:
        """Producer is done: wake the consumer; reads drain what is left, then return None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        with self._cond:
            return self._available()


@dataclass(frozen=True)
class Stamped(Generic[T]):
    """One item from a FrameRing with its capture time and sequence number."""

    item: T
    monotonic_ns: int
    sequence: int


class FrameRing(Generic[T]):
    """A ring of whole frames (e.g. JPEG stills): at most `capacity` kept, oldest dropped."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"ring capacity must be > 0 frames, got {capacity}")
        self.capacity = capacity
        self._items: deque[Stamped[T]] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._sequence = 0
        self.overruns = 0

    def put(self, item: T, monotonic_ns: int) -> None:
        """Producer: never blocks; drops (and counts) the oldest frame when full."""
        with self._lock:
            if len(self._items) == self.capacity:
                self.overruns += 1
            self._items.append(Stamped(item, monotonic_ns, self._sequence))
            self._sequence += 1

    def get(self) -> Stamped[T] | None:
        """Consumer: the oldest frame, or None when empty (never waits)."""
        with self._lock:
            return self._items.popleft() if self._items else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

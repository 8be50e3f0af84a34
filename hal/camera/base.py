"""The Camera interface: JPEG stills and MP4 clips, each stamped with its monotonic capture time."""

from __future__ import annotations

import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hal.errors import BackendUnavailable


@dataclass(frozen=True)
class Still:
    """One JPEG image; `monotonic_ns` is when it was captured."""

    jpeg: bytes
    monotonic_ns: int
    width: int
    height: int


@dataclass(frozen=True)
class Clip:
    """An MP4 file of `seconds`, started at `monotonic_ns`."""

    path: Path
    monotonic_ns: int
    seconds: float


def find_ffmpeg(backend: str, purpose: str) -> str:
    """Path of ffmpeg, or BackendUnavailable saying what it is needed for."""
    found = shutil.which("ffmpeg")
    if not found:
        raise BackendUnavailable(backend, f"{purpose} needs ffmpeg on PATH (Debian package ffmpeg)")
    return found


class Camera(ABC):
    """open() checks the backend can run; still() and clip() capture; close() releases."""

    backend = "?"

    def __init__(
        self,
        device: str = "",
        width: int = 1280,
        height: int = 720,
        *,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.device, self.width, self.height = device, width, height
        self._monotonic_ns = monotonic_ns

    def open(self) -> Camera:
        return self

    @abstractmethod
    def still(self) -> Still:
        """Capture one JPEG still."""

    @abstractmethod
    def clip(self, seconds: float, path: Path) -> Clip:
        """Record an MP4 clip of `seconds` into `path`."""

    def close(self) -> None:
        """Release the device (nothing to release by default)."""
        return None

    def __enter__(self) -> Camera:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

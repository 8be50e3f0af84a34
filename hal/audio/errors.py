"""Errors of the audio layer."""

from __future__ import annotations

from hal.errors import BackendUnavailable, HalError


class AudioError(HalError, OSError):
    """Capture failed (device vanished, driver error); carries the backend and device."""

    def __init__(self, backend: str, device: str, problem: str) -> None:
        super().__init__(f"audio {backend} {device!r}: {problem}")
        self.backend = backend
        self.device = device
        self.problem = problem


__all__ = ["AudioError", "BackendUnavailable"]

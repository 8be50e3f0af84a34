"""Errors of the camera layer."""

from __future__ import annotations

from hal.errors import BackendUnavailable, HalError


class CameraError(HalError, OSError):
    """A still or clip failed; carries the backend, the device and what went wrong."""

    def __init__(self, backend: str, device: str, problem: str) -> None:
        super().__init__(f"camera {backend} {device!r}: {problem}")
        self.backend = backend
        self.device = device
        self.problem = problem


__all__ = ["BackendUnavailable", "CameraError"]

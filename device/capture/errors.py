"""Errors of the capture loop."""

from __future__ import annotations

from device.errors import RecorderError


class CaptureError(RecorderError, RuntimeError):
    """Capture could not start or stopped on a fault; says which part failed."""


class AlreadyRecording(CaptureError):
    """start() while a recording runs; names it."""

    def __init__(self, recording_id: str) -> None:
        super().__init__(f"already recording {recording_id}; stop it first")
        self.recording_id = recording_id

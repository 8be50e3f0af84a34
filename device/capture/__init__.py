"""Capture: microphone -> ring buffer -> encoder -> segment files -> spool; camera stills beside.

`from_config(config, spool)` builds the controller the agent and `recorder record` drive.
"""

from __future__ import annotations

from device.capture import sources
from device.capture.controller import IDLE, RECORDING, STORAGE_FULL, CaptureController
from device.capture.errors import AlreadyRecording, CaptureError
from device.capture.segments import SegmentPlan
from device.clock import Clock, TimeBase
from device.config import Config
from device.spool import Spool


def from_config(
    config: Config, spool: Spool, clock: Clock | None = None, timebase: TimeBase | None = None
) -> CaptureController:
    """A controller for the configured audio and camera backends (nothing is opened yet)."""
    clock = clock or Clock()
    timebase = timebase or TimeBase(clock, config.capture.time_policy)
    audio = config.audio
    plan = SegmentPlan(audio.codec, audio.sample_rate_hz, audio.bitrate_kbps, audio.segment_seconds)
    return CaptureController(
        spool,
        plan,
        timebase,
        make_microphone=lambda: sources.microphone(audio, clock),
        make_camera=lambda: sources.camera(config.camera, clock),
        still_interval=config.camera.interval_seconds,
        max_duration_cap=config.capture.max_duration_seconds,
    )


__all__ = [
    "IDLE",
    "RECORDING",
    "STORAGE_FULL",
    "AlreadyRecording",
    "CaptureController",
    "CaptureError",
    "SegmentPlan",
    "from_config",
]

"""Build the microphone and camera the config names, through the HAL registries (the capture loop
never imports a backend module)."""

from __future__ import annotations

from device.clock import Clock
from device.config import AudioConfig, CameraConfig
from hal.audio import Microphone, create_microphone
from hal.camera import Camera, create_camera


def microphone(audio: AudioConfig, clock: Clock) -> Microphone:
    options = {
        "rate": audio.sample_rate_hz,
        "buffer_seconds": audio.buffer_seconds,
        "monotonic_ns": clock.monotonic_ns,
    }
    if audio.backend == "sim":
        options |= {"source": audio.sim_source, "file": audio.sim_file, "speed": audio.sim_speed}
    else:
        options["device"] = audio.device
    return create_microphone(audio.backend, **options)


def camera(cam: CameraConfig, clock: Clock) -> Camera | None:
    """None when the config says `backend = "none"` or stills are off (interval 0)."""
    if cam.backend == "none" or cam.interval_seconds <= 0:
        return None
    options = {"width": cam.width, "height": cam.height, "monotonic_ns": clock.monotonic_ns}
    if cam.backend == "sim":
        options["wall_clock"] = lambda: clock.wall_ns() / 1e9
    else:
        options["device"] = cam.device
    return create_camera(cam.backend, **options)

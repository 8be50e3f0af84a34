"""Simulated camera: generated frames with a visible timestamp and frame number, JPEG-encoded.

Stills need Pillow (the `sim` extra); clips also need ffmpeg on PATH, and say so when it is absent.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from hal.camera.base import Camera, Clip, Still, find_ffmpeg
from hal.camera.errors import CameraError
from hal.errors import BackendUnavailable

CLIP_FPS = 10


class SimCamera(Camera):
    backend = "sim"

    def __init__(
        self,
        device: str = "sim",
        width: int = 640,
        height: int = 360,
        *,
        wall_clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        super().__init__(device or "sim", width, height, **options)
        self._wall = wall_clock
        self.frames = 0
        self._pil = None

    def open(self) -> SimCamera:
        try:
            from PIL import Image, ImageDraw  # noqa: PLC0415 - optional: only the sim needs it
        except ImportError as exc:
            raise BackendUnavailable("sim", "Pillow (pip install 'recorder-agent[sim]')") from exc
        self._pil = (Image, ImageDraw)
        return self

    def _frame_jpeg(self, label: str) -> bytes:
        if self._pil is None:
            self.open()
        image_mod, draw_mod = self._pil
        shade = (self.frames * 37) % 200
        img = image_mod.new("RGB", (self.width, self.height), (30, 60 + shade // 4, 90))
        draw = draw_mod.Draw(img)
        draw.rectangle([0, 0, self.width, max(24, self.height // 8)], fill=(0, 0, 0))
        draw.text((8, 4), label, fill=(255, 255, 0), font_size=max(12, self.height // 12))
        x = (self.frames * 13) % max(1, self.width - 20)
        draw.rectangle([x, self.height // 2, x + 20, self.height // 2 + 20], fill=(255, 255, 255))
        out = BytesIO()
        img.save(out, "JPEG", quality=80)
        self.frames += 1
        return out.getvalue()

    def _label(self) -> str:
        wall = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self._wall()))
        return f"SIM {wall}Z  mono {self._monotonic_ns() / 1e9:.3f}  #{self.frames}"

    def still(self) -> Still:
        mono = self._monotonic_ns()
        return Still(self._frame_jpeg(self._label()), mono, self.width, self.height)

    def clip(self, seconds: float, path: Path) -> Clip:
        """Generated frames at 10 fps piped through ffmpeg into an MP4 (needs ffmpeg)."""
        ffmpeg = find_ffmpeg("sim", "an MP4 clip")
        mono = self._monotonic_ns()
        cmd = [
            ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "mjpeg",
            "-framerate",
            str(CLIP_FPS),
            "-i",
            "-",
            "-c:v",
            "mpeg4",
            "-q:v",
            "5",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "mp4",
            str(path),
        ]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for _ in range(max(1, round(seconds * CLIP_FPS))):
                proc.stdin.write(self._frame_jpeg(self._label()))
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            raise CameraError(
                "sim", self.device, f"ffmpeg failed: {err.decode(errors='replace')[-300:]}"
            )
        return Clip(Path(path), mono, seconds)


BACKEND = SimCamera

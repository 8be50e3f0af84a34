"""V4L2 (UVC) camera: MJPEG stills and MP4 clips, both read through ffmpeg's v4l2 input.

Needs a V4L2 character device (e.g. /dev/video0) that offers MJPEG, and ffmpeg on PATH. A still is
the first frame after a short warm-up (re-encoded as JPEG at high quality); a clip is encoded to
H.264 when ffmpeg has libx264, else MPEG-4 part 2.
"""

from __future__ import annotations

import functools
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

from hal.camera.base import Camera, Clip, Still, find_ffmpeg
from hal.camera.errors import CameraError
from hal.errors import BackendUnavailable

STILL_TIMEOUT_S = 15.0
WARMUP_FRAMES = 3  # UVC cameras deliver dark, unexposed frames right after STREAMON


@functools.cache
def clip_codec(ffmpeg: str) -> str:
    out = subprocess.run(
        [ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False
    )
    return "libx264" if " libx264 " in out.stdout else "mpeg4"


class V4l2Camera(Camera):
    backend = "v4l2"

    def __init__(
        self, device: str = "/dev/video0", width: int = 1280, height: int = 720, **options: Any
    ) -> None:
        super().__init__(device or "/dev/video0", width, height, **options)
        self._ffmpeg = ""

    def open(self) -> V4l2Camera:
        try:
            mode = os.stat(self.device).st_mode
        except OSError as exc:
            raise BackendUnavailable(
                "v4l2",
                f"camera device {self.device} ({exc.strerror}); "
                'set camera.backend = "none" for a recorder without a camera',
            ) from exc
        if not stat.S_ISCHR(mode):
            raise BackendUnavailable("v4l2", f"{self.device} is not a V4L2 character device")
        self._ffmpeg = find_ffmpeg("v4l2", "reading the camera")
        return self

    def input_args(self) -> list[str]:
        """ffmpeg arguments selecting the camera's MJPEG stream at the configured size."""
        return [
            "-f",
            "v4l2",
            "-input_format",
            "mjpeg",
            "-video_size",
            f"{self.width}x{self.height}",
            "-i",
            self.device,
        ]

    def still_command(self) -> list[str]:
        return [
            self._ffmpeg or "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            *self.input_args(),
            "-vf",
            f"select=gte(n\\,{WARMUP_FRAMES})",
            "-frames:v",
            "1",
            "-c:v",
            "mjpeg",
            "-q:v",
            "3",
            "-f",
            "image2pipe",
            "-",
        ]

    def clip_command(self, seconds: float, path: Path) -> list[str]:
        ffmpeg = self._ffmpeg or "ffmpeg"
        return [
            ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            *self.input_args(),
            "-t",
            f"{seconds:.3f}",
            "-c:v",
            clip_codec(ffmpeg),
            "-pix_fmt",
            "yuv420p",
            "-f",
            "mp4",
            str(path),
        ]

    def still(self) -> Still:
        if not self._ffmpeg:
            self.open()
        mono = self._monotonic_ns()
        out = self._run(self.still_command(), STILL_TIMEOUT_S)
        if not out.startswith(b"\xff\xd8"):
            raise CameraError("v4l2", self.device, "ffmpeg returned no JPEG frame")
        return Still(out, mono, self.width, self.height)

    def clip(self, seconds: float, path: Path) -> Clip:
        if not self._ffmpeg:
            self.open()
        mono = self._monotonic_ns()
        self._run(self.clip_command(seconds, path), seconds + STILL_TIMEOUT_S)
        return Clip(Path(path), mono, seconds)

    def _run(self, cmd: list[str], timeout: float) -> bytes:
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise CameraError("v4l2", self.device, f"no frame within {timeout:.0f} s") from exc
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip()[-300:]
            raise CameraError("v4l2", self.device, f"ffmpeg failed ({done.returncode}): {err}")
        return done.stdout


BACKEND = V4l2Camera

"""Cameras: the sim backend for real (Pillow JPEGs, ffmpeg clips when ffmpeg exists) and the v4l2
backend's logic. A V4L2 camera cannot exist here, so its device is absent or replaced by ffmpeg's
test source; that is the one mocked part."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from hal.camera import BackendUnavailable, create_camera
from hal.camera.v4l2 import V4l2Camera


def test_sim_still_is_a_decodable_jpeg_with_the_configured_size() -> None:
    ticks = iter(range(0, 10**12, 10**9))
    with create_camera("sim", width=320, height=180, monotonic_ns=lambda: next(ticks)) as cam:
        first, second = cam.still(), cam.still()
    img = Image.open(io.BytesIO(first.jpeg))
    img.load()
    assert img.format == "JPEG" and img.size == (320, 180)
    assert second.monotonic_ns > first.monotonic_ns
    assert first.jpeg != second.jpeg  # the timestamp and frame number are drawn in


def test_sim_clip_is_an_mp4_or_says_it_needs_ffmpeg(tmp_path: Path) -> None:
    cam = create_camera("sim", width=160, height=96).open()
    path = tmp_path / "clip.mp4"
    if shutil.which("ffmpeg") is None:
        with pytest.raises(BackendUnavailable, match="ffmpeg"):
            cam.clip(1.0, path)
        return
    clip = cam.clip(1.0, path)
    data = path.read_bytes()
    assert clip.path == path and data[4:8] == b"ftyp" and b"moov" in data


def test_sim_clip_without_ffmpeg_says_what_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no ffmpeg
    cam = create_camera("sim", width=160, height=96).open()
    with pytest.raises(BackendUnavailable, match="needs ffmpeg on PATH"):
        cam.clip(1.0, tmp_path / "clip.mp4")


def test_v4l2_missing_device_is_a_clear_error(tmp_path: Path) -> None:
    cam = create_camera("v4l2", device=str(tmp_path / "video9"))
    with pytest.raises(BackendUnavailable, match="video9.*camera.backend"):
        cam.open()


def test_v4l2_rejects_a_device_that_is_not_a_character_device(tmp_path: Path) -> None:
    (tmp_path / "video0").write_bytes(b"")
    with pytest.raises(BackendUnavailable, match="not a V4L2 character device"):
        create_camera("v4l2", device=str(tmp_path / "video0")).open()


def test_v4l2_commands_ask_for_mjpeg_at_the_configured_size(tmp_path: Path) -> None:
    cam = V4l2Camera(device="/dev/video3", width=640, height=480)
    still = cam.still_command()
    assert still[still.index("-input_format") + 1] == "mjpeg"
    assert still[still.index("-video_size") + 1] == "640x480"
    assert still[still.index("-i") + 1] == "/dev/video3" and still[-1] == "-"
    clip = cam.clip_command(5, tmp_path / "c.mp4")
    assert clip[clip.index("-t") + 1] == "5.000" and clip[-1] == str(tmp_path / "c.mp4")


class PatternCamera(V4l2Camera):
    """The v4l2 backend with ffmpeg's test pattern in place of /dev/videoN (mock of the camera only)."""

    def input_args(self) -> list[str]:
        return ["-f", "lavfi", "-i", f"testsrc=size={self.width}x{self.height}:rate=15"]


def test_v4l2_still_path_extracts_a_jpeg_through_ffmpeg() -> None:
    cam = PatternCamera(device="/dev/null", width=320, height=240)
    if shutil.which("ffmpeg") is None:
        with pytest.raises(BackendUnavailable, match="ffmpeg"):
            cam.open()
        return
    cam._ffmpeg = shutil.which("ffmpeg")
    still = cam.still()
    img = Image.open(io.BytesIO(still.jpeg))
    assert img.format == "JPEG" and img.size == (320, 240)

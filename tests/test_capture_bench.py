"""The benchmark's dropped-frame count must be able to see a drop (it counts from the files)."""

from __future__ import annotations

from pathlib import Path

from device.codec import open_segment
from hal.audio.sim import counter_pcm
from tools.bench.capture import _count_drops


def _wav(path: Path, pcm: bytes) -> dict:
    writer = open_segment("wav", path, 16000)
    writer.write(pcm)
    writer.close()
    return {"type": "audio", "file": str(path), "captured_at": "2026-12-04T15:00:00.000Z"}


def test_count_drops_sees_a_gap_and_accepts_a_clean_stream(tmp_path: Path) -> None:
    clean = counter_pcm(0, 16000)
    assert _count_drops("wav", [_wav(tmp_path / "a.wav", clean)]) == (0, 16000)
    torn = clean[:3200] + b"\0\0" * 640 + clean[3200 + 1280 :]  # 40 ms replaced by silence
    assert _count_drops("wav", [_wav(tmp_path / "b.wav", torn)]) == (2, 16000)

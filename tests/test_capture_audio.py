"""Microphone backends: the real ALSA path through the `null` PCM, and every sim source."""

from __future__ import annotations

import array
import math
import wave
from pathlib import Path

import pytest

from hal.audio import AudioError, create_microphone, level_dbfs, microphone_class
from hal.audio.sim import counter_pcm


def read_all(mic, samples: int) -> list:  # noqa: ANN001
    frames, got = [], 0
    while got < samples:
        frame = mic.read(samples - got, timeout=5)
        if frame is None:
            break
        frames.append(frame)
        got += frame.samples
    return frames


def test_alsa_null_device_captures_paced_silence() -> None:
    """The real libasound capture path; ALSA's null PCM is silent and clockless, so it is paced."""
    with create_microphone("alsa", rate=16000, device="null", buffer_seconds=2) as mic:
        frames = read_all(mic, 4800)
    assert sum(f.samples for f in frames) == 4800
    assert all(set(f.pcm) <= {0} for f in frames)
    assert [f.sample for f in frames] == sorted(f.sample for f in frames) and frames[0].sample == 0
    stamps = [f.monotonic_ns for f in frames]
    assert all(s is not None for s in stamps) and stamps == sorted(stamps)
    assert mic.overruns == 0 and mic.level == -math.inf


def test_alsa_unknown_device_is_a_clear_error() -> None:
    mic = create_microphone("alsa", rate=16000, device="no_such_pcm_xyz")
    with pytest.raises(AudioError, match="no_such_pcm_xyz.*cannot open capture device"):
        mic.open()


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_sim_counter_is_contiguous_and_faster_than_real_time(rate: int) -> None:
    seconds = 5
    with create_microphone("sim", rate=rate, source="counter", speed=1000) as mic:
        frames = read_all(mic, rate * seconds)
    pcm = b"".join(f.pcm for f in frames)
    assert pcm == counter_pcm(0, rate * seconds)
    # the stamps are the real monotonic clock: 5 s of sound arrived in far less than 5 s
    assert frames[-1].monotonic_ns - frames[0].monotonic_ns < seconds * 1e9 / 2


def test_sim_tone_and_noise_have_a_level() -> None:
    for source, low, high in [("tone", -16, -14), ("noise", -20, 0)]:
        with create_microphone("sim", rate=16000, source=source, speed=1000) as mic:
            frames = read_all(mic, 16000)
        assert low < level_dbfs(b"".join(f.pcm for f in frames)) < high, source
        assert low - 1 < mic.level < high + 1


def test_sim_wav_source_plays_the_file_then_ends(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    pcm = counter_pcm(123, 8000 + 11)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(pcm)
    with create_microphone("sim", rate=8000, source="wav", file=str(path), speed=500) as mic:
        frames = read_all(mic, 100_000)
        assert mic.ended
    assert b"".join(f.pcm for f in frames) == pcm


def test_sim_wav_with_the_wrong_rate_names_file_and_need(tmp_path: Path) -> None:
    path = tmp_path / "in.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(44100)
        w.writeframes(b"\0\0" * 10)
    mic = create_microphone("sim", rate=16000, source="wav", file=str(path))
    with pytest.raises(AudioError, match=r"in\.wav.*44100 Hz.*need 1 ch, 16 bit, 16000 Hz"):
        mic.open()


def test_stalled_consumer_loses_oldest_audio_and_counts_it() -> None:
    mic = create_microphone("sim", rate=8000, source="counter", speed=1000, buffer_seconds=0.5)
    mic.open()
    try:
        while mic.ring._written < 8000 * 2 * 3:  # let 3 s arrive into a 0.5 s buffer, unread
            mic._stop.wait(0.01)
        frame = mic.read(100, timeout=1)
    finally:
        mic.close()
    assert mic.overruns > 0 and frame.lost > 0 and frame.sample == frame.lost
    values = array.array("h", frame.pcm)
    assert values[0] == (frame.sample + 32768) % 65536 - 32768  # the counter says where we are
    assert len(mic.ring._buf) == 8000  # 0.5 s of S16 mono, never more


def test_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="alsa, sim"):
        microphone_class("pulse")


@pytest.mark.parametrize(
    ("backend", "options"),
    [("alsa", {"device": "null"}), ("sim", {"source": "tone", "speed": 50})],
)
def test_every_backend_keeps_the_microphone_contract(backend: str, options: dict) -> None:
    """The same checks over every backend that can run here (gpiozero's real/mock pattern)."""
    mic = create_microphone(backend, rate=8000, buffer_seconds=1, **options)
    mic.open()
    try:
        frames = read_all(mic, 1600)
        with pytest.raises(AudioError, match="already open"):
            mic.open()
    finally:
        mic.close()
    positions = [f.sample for f in frames]
    assert positions[0] == 0 and all(f.rate == 8000 and f.lost == 0 for f in frames)
    assert all(b.sample == a.sample + a.samples for a, b in zip(frames, frames[1:], strict=False))
    assert all(f.monotonic_ns is not None for f in frames)
    assert mic.ring.closed and mic.overruns == 0

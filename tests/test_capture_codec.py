"""Ogg Opus through libopus and our RFC 7845 writer, checked by opus-tools; the WAV fallback."""

from __future__ import annotations

import math
import re
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import pytest

from device.codec import CONTENT_TYPES, open_segment
from device.codec.decode import decode_ogg_opus, decode_wav
from device.codec.errors import CodecError
from device.codec.ogg import ogg_crc, read_pages
from hal.audio.sim import counter_pcm


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: install opus-tools (make setup installs it)"
    return found


def sine(rate: int, samples: int) -> bytes:
    return b"".join(
        struct.pack("<h", int(9000 * math.sin(2 * math.pi * 300 * n / rate)))
        for n in range(samples)
    )


def test_ogg_crc_matches_the_reference_vector() -> None:
    # CRC-32/MPEG-2 style (poly 0x04C11DB7, no reflection) with init 0 and no final xor
    assert ogg_crc(b"") == 0
    assert ogg_crc(b"123456789") == 0x89A1897F


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_opus_segment_passes_opusinfo_and_decodes_to_its_length(tmp_path: Path, rate: int) -> None:
    samples = rate * 2 + 77  # not a whole number of 20 ms frames
    path = tmp_path / "seg.opus"
    writer = open_segment("opus", path, rate, 32)
    for offset in range(0, samples, 999):
        writer.write(sine(rate, min(999, samples - offset)))
    assert writer.close() == samples
    info = subprocess.run(
        [tool("opusinfo"), str(path)], capture_output=True, text=True, check=False
    )
    assert info.returncode == 0, info.stdout + info.stderr
    assert "WARNING" not in info.stdout + info.stderr, info.stdout
    assert f"Original sample rate: {rate} Hz" in info.stdout
    length = re.search(r"Playback length: (\d+)m:([\d.]+)s", info.stdout)
    assert abs(int(length[1]) * 60 + float(length[2]) - samples / rate) <= 0.020 + 0.001
    decoded = decode_ogg_opus(path, rate)
    assert abs(len(decoded) // 2 - samples) <= rate // 50  # within one frame (it is exact here)
    pages = list(read_pages(path.read_bytes()))
    assert pages[0].flags & 0x02 and pages[-1].flags & 0x04  # BOS first, EOS last
    assert [p.granule for p in pages[2:]] == sorted(p.granule for p in pages[2:])


def test_opusdec_decodes_what_we_wrote(tmp_path: Path) -> None:
    rate, samples = 16000, 16000 * 3 + 5
    path = tmp_path / "seg.opus"
    writer = open_segment("opus", path, rate, 32)
    writer.write(sine(rate, samples))
    writer.close()
    out = tmp_path / "out.wav"
    subprocess.run(
        [tool("opusdec"), "--quiet", "--rate", str(rate), str(path), str(out)], check=True
    )
    with wave.open(str(out)) as w:
        assert abs(w.getnframes() - samples) <= rate // 50


def test_decoder_rejects_a_corrupted_page(tmp_path: Path) -> None:
    path = tmp_path / "seg.opus"
    writer = open_segment("opus", path, 16000, 32)
    writer.write(sine(16000, 16000))
    writer.close()
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CodecError, match="bad CRC"):
        decode_ogg_opus(path, 16000)


def test_wav_segment_is_valid_and_sample_exact(tmp_path: Path) -> None:
    path = tmp_path / "seg.wav"
    writer = open_segment("wav", path, 16000)
    pcm = counter_pcm(70_000, 20_000)
    writer.write(pcm[:1000])
    writer.write(pcm[1000:])
    assert writer.close() == 20_000
    assert path.read_bytes()[:4] == b"RIFF" and path.read_bytes()[8:12] == b"WAVE"
    assert decode_wav(path) == (pcm, 16000)
    assert CONTENT_TYPES == {"opus": "audio/opus", "wav": "audio/wav"}


def test_unknown_codec_is_named(tmp_path: Path) -> None:
    with pytest.raises(CodecError, match="'mp3'"):
        open_segment("mp3", tmp_path / "x", 16000)

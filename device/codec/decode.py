"""Decode our own segment files back to PCM: for checks, tests and benchmarks (not the device path)."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

from device.codec.errors import CodecError
from device.codec.libopus import OpusDecoder
from device.codec.ogg import read_packets
from device.codec.segment import OPUS_RATE


def decode_ogg_opus(path: Path, rate: int) -> bytes:
    """Whole file -> S16LE mono PCM at `rate`, with pre-skip and end trim applied (RFC 7845 4.)."""
    data = Path(path).read_bytes()
    packets = read_packets(data)
    head, _ = next(packets, (b"", None))
    if not head.startswith(b"OpusHead"):
        raise CodecError(f"{path}: first packet is not OpusHead")
    channels, pre_skip = struct.unpack_from("<BH", head, 9)
    next(packets)  # OpusTags
    dec = OpusDecoder(rate, channels)
    pcm, last_granule = bytearray(), 0
    for packet, page in packets:
        pcm += dec.decode(packet)
        last_granule = page.granule
    scale = OPUS_RATE // rate
    start = pre_skip // scale * 2 * channels
    end = last_granule // scale * 2 * channels
    return bytes(pcm[start:end])


def decode_wav(path: Path) -> tuple[bytes, int]:
    """(S16LE PCM, sample rate) of a mono 16-bit WAV file."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise CodecError(f"{path}: not 16-bit mono WAV")
        return w.readframes(w.getnframes()), w.getframerate()


def media_seconds(path: Path) -> float:
    """Playback length of one of our segment files, from its headers alone (no decoding)."""
    path = Path(path)
    if path.suffix == ".wav":
        with wave.open(str(path), "rb") as w:
            return w.getnframes() / w.getframerate()
    data = path.read_bytes()
    packets = read_packets(data)
    head, _ = next(packets, (b"", None))
    if not head.startswith(b"OpusHead"):
        raise CodecError(f"{path}: neither WAV nor Ogg Opus")
    pre_skip = struct.unpack_from("<H", head, 10)[0]
    last = 0
    for _, page in packets:
        last = page.granule
    return max(0, last - pre_skip) / OPUS_RATE

"""Audio segment encoding: Ogg Opus through libopus (ctypes) and a WAV fallback.

`open_segment(codec, path, rate, bitrate_kbps)` returns a writer with `write(pcm)` and `close()`;
no media framework is involved, only libopus (Debian package libopus0).
"""

from __future__ import annotations

from pathlib import Path

from device.codec.errors import CodecError, CodecUnavailable
from device.codec.segment import OggOpusSegment, SegmentWriter, WavSegment

CONTENT_TYPES = {"opus": "audio/opus", "wav": "audio/wav"}
SUFFIXES = {"opus": ".opus", "wav": ".wav"}


def open_segment(codec: str, path: Path, rate: int, bitrate_kbps: int = 32) -> SegmentWriter:
    """A segment writer for `codec` ("opus" or "wav") writing 16-bit mono PCM at `rate` to `path`."""
    if codec == "opus":
        return OggOpusSegment(path, rate, bitrate_kbps * 1000)
    if codec == "wav":
        return WavSegment(path, rate)
    raise CodecError(f"unknown audio codec {codec!r} (allowed: opus, wav)")


__all__ = [
    "CONTENT_TYPES",
    "SUFFIXES",
    "CodecError",
    "CodecUnavailable",
    "SegmentWriter",
    "open_segment",
]

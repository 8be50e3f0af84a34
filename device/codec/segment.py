"""Segment files: one writer per audio segment; `close()` flushes and fsyncs, returns samples."""

from __future__ import annotations

import os
import random
import wave
from pathlib import Path
from typing import Protocol

from device.codec.libopus import OpusEncoder, version
from device.codec.ogg import OggWriter, opus_head, opus_tags

OPUS_RATE = 48000  # Ogg Opus granule positions always count 48 kHz samples (RFC 7845 4)
FRAME_MS = 20


class SegmentWriter(Protocol):
    path: Path
    samples: int

    def write(self, pcm: bytes) -> None: ...

    def close(self) -> int: ...


def _fsync_close(fh) -> None:  # noqa: ANN001 - any binary file object
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()


class OggOpusSegment:
    """16-bit mono PCM -> Ogg Opus (RFC 7845): OpusHead, OpusTags, 20 ms packets, exact end trim."""

    def __init__(self, path: Path, rate: int, bitrate: int, tags: list[str] | None = None) -> None:
        self.path = Path(path)
        self.rate = rate
        self.samples = 0
        self._enc = OpusEncoder(rate, 1, bitrate)
        self._scale = OPUS_RATE // rate
        self._frame_bytes = rate * FRAME_MS // 1000 * 2
        self.pre_skip = self._enc.lookahead * self._scale
        self._encoded = 0  # samples (at rate) fed to the encoder
        self._pending = b""
        self._fh = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._ogg = OggWriter(self._fh, random.getrandbits(32))
        self._ogg.page(opus_head(1, self.pre_skip, rate), 0)
        self._ogg.page(opus_tags(f"recorder-agent ({version()})", tags or []), 0)

    def write(self, pcm: bytes) -> None:
        self.samples += len(pcm) // 2
        self._pending += pcm
        while len(self._pending) >= self._frame_bytes:
            frame, self._pending = (
                self._pending[: self._frame_bytes],
                self._pending[self._frame_bytes :],
            )
            self._encode(frame)

    def _encode(self, frame: bytes) -> None:
        self._encoded += len(frame) // 2
        if self._ogg.add(self._enc.encode(frame)):
            self._ogg.flush(self._granule())

    def _granule(self) -> int:
        return self.pre_skip + self._encoded * self._scale

    def close(self) -> int:
        """Pad the last frame and the encoder delay with silence, end-trim by granule, fsync."""
        need = self.samples + self._enc.lookahead
        self._pending += b"\0" * (self._frame_bytes - len(self._pending) % self._frame_bytes)
        while self._encoded + len(self._pending) // 2 < need:
            self._pending += b"\0" * self._frame_bytes
        while self._pending:
            frame, self._pending = (
                self._pending[: self._frame_bytes],
                self._pending[self._frame_bytes :],
            )
            self._encode(frame)
        self._ogg.flush(self.pre_skip + self.samples * self._scale, eos=True)
        _fsync_close(self._fh)
        self._enc.close()
        return self.samples


class WavSegment:
    """16-bit mono PCM -> RIFF WAVE (stdlib `wave`), fsynced on close."""

    def __init__(self, path: Path, rate: int) -> None:
        self.path = Path(path)
        self.samples = 0
        self._fh = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._wav = wave.open(self._fh, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)

    def write(self, pcm: bytes) -> None:
        self.samples += len(pcm) // 2
        self._wav.writeframesraw(pcm)

    def close(self) -> int:
        self._wav.close()  # patches the header sizes; leaves our file object open
        _fsync_close(self._fh)
        return self.samples

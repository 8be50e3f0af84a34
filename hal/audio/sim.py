"""Simulated microphone: a tone, noise, a running sample counter, or a WAV file, paced at
`speed` times real time (1.0: real time; 100: a minute in 0.6 s).

The counter source writes sample n as the int16 value n mod 65536, so a reader of the encoded
segments can prove, outside the capture code, that no sample was dropped or duplicated.
"""

from __future__ import annotations

import array
import math
import os
import wave
from pathlib import Path
from typing import Any

from hal.audio.base import BYTES_PER_SAMPLE, Microphone
from hal.audio.errors import AudioError

SOURCES = ("tone", "noise", "counter", "wav")
TONE_HZ = 400  # divides every supported rate, so one second loops seamlessly


def counter_pcm(start: int, count: int) -> bytes:
    """Samples start..start+count-1 of the counter source."""
    cycle = _COUNTER
    out = bytearray()
    pos = start % 65536
    while len(out) < count * 2:
        take = min(count * 2 - len(out), (65536 - pos) * 2)
        out += cycle[pos * 2 : pos * 2 + take]
        pos = 0
    return bytes(out)


def _counter_cycle() -> bytes:
    values = array.array("h", (((n + 32768) % 65536) - 32768 for n in range(65536)))
    return values.tobytes()


_COUNTER = _counter_cycle()


class SimMicrophone(Microphone):
    backend = "sim"

    def __init__(
        self,
        rate: int = 16000,
        device: str = "",
        *,
        source: str = "tone",
        file: str = "",
        speed: float = 1.0,
        **options: Any,
    ) -> None:
        super().__init__(rate, device or source, **options)
        if source not in SOURCES:
            raise ValueError(f"unknown sim audio source {source!r} (allowed: {', '.join(SOURCES)})")
        if speed <= 0:
            raise ValueError(f"sim speed must be > 0, got {speed}")
        self.source, self.file, self.pace = source, file, speed
        self._pos = 0  # samples generated
        self._loop = b""
        self._wav: wave.Wave_read | None = None

    def _open_source(self) -> None:
        if self.source == "wav":
            self._wav = self._open_wav(Path(self.file))
        elif self.source == "tone":
            self._loop = array.array(
                "h",
                (
                    int(0.25 * 32767 * math.sin(2 * math.pi * TONE_HZ * n / self.rate))
                    for n in range(self.rate)
                ),
            ).tobytes()
        elif self.source == "noise":
            self._loop = bytes(
                b & 0x1F if i % 2 else b for i, b in enumerate(os.urandom(self.rate * 2))
            )

    def _open_wav(self, path: Path) -> wave.Wave_read:
        if not self.file:
            raise AudioError("sim", "wav", "sim_source = wav needs audio.sim_file")
        try:
            wav = wave.open(str(path), "rb")
        except (OSError, EOFError, wave.Error) as exc:
            raise AudioError("sim", str(path), f"cannot read WAV file: {exc}") from exc
        got = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        if got != (1, BYTES_PER_SAMPLE, self.rate):
            wav.close()
            raise AudioError(
                "sim",
                str(path),
                f"WAV is {got[0]} ch, {8 * got[1]} bit, {got[2]} Hz; "
                f"need 1 ch, 16 bit, {self.rate} Hz (audio.sample_rate_hz)",
            )
        return wav

    def _read_source(self, nbytes: int) -> bytes:
        count = nbytes // BYTES_PER_SAMPLE
        if self._wav is not None:
            data = self._wav.readframes(count)
        elif self.source == "counter":
            data = counter_pcm(self._pos, count)
        else:
            data = self._from_loop(count)
        self._pos += len(data) // BYTES_PER_SAMPLE
        return data

    def _from_loop(self, count: int) -> bytes:
        start = self._pos % self.rate * 2
        doubled = self._loop + self._loop
        return doubled[start : start + count * 2]

    def _close_source(self) -> None:
        if self._wav is not None:
            self._wav.close()


BACKEND = SimMicrophone

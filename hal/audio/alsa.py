"""ALSA microphone through libasound (ctypes): snd_pcm_open / set_params / readi.

Needs libasound2. `device = "null"` is ALSA's null PCM: silence, no sound card, and no clock of its
own (it returns data instantly), so this backend paces it at the nominal rate like a real card.
Overruns inside ALSA (-EPIPE) are recovered with snd_pcm_recover and counted in `xruns`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
from typing import Any

from hal.audio.base import BYTES_PER_SAMPLE, Microphone
from hal.audio.errors import AudioError
from hal.errors import BackendUnavailable

_CAPTURE = 1
_FORMAT_S16_LE = 2
_ACCESS_RW_INTERLEAVED = 3
_LATENCY_US = 200_000
CLOCKLESS = ("null",)


@functools.cache
def libasound() -> ctypes.CDLL:
    name = ctypes.util.find_library("asound") or "libasound.so.2"
    try:
        so = ctypes.CDLL(name)
    except OSError as exc:
        raise BackendUnavailable(
            "alsa", "libasound (Debian package libasound2) is not installed"
        ) from exc
    so.snd_pcm_open.argtypes = [
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_int,
    ]
    so.snd_pcm_set_params.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
    ]
    so.snd_pcm_readi.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong]
    so.snd_pcm_readi.restype = ctypes.c_long
    so.snd_pcm_recover.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    so.snd_pcm_close.argtypes = [ctypes.c_void_p]
    so.snd_strerror.restype = ctypes.c_char_p
    so.snd_strerror.argtypes = [ctypes.c_int]
    return so


class AlsaMicrophone(Microphone):
    backend = "alsa"

    def __init__(self, rate: int = 16000, device: str = "default", **options: Any) -> None:
        super().__init__(rate, device or "default", **options)
        self._pcm = ctypes.c_void_p()
        self._buf = ctypes.create_string_buffer(self.chunk_bytes)
        self.pace = 1.0 if self.device in CLOCKLESS else None

    def _fail(self, what: str, code: int) -> AudioError:
        return AudioError("alsa", self.device, f"{what}: {libasound().snd_strerror(code).decode()}")

    def _open_source(self) -> None:
        lib = libasound()
        rc = lib.snd_pcm_open(ctypes.byref(self._pcm), self.device.encode(), _CAPTURE, 0)
        if rc < 0:
            raise self._fail("cannot open capture device (check `arecord -L` for PCM names)", rc)
        rc = lib.snd_pcm_set_params(
            self._pcm, _FORMAT_S16_LE, _ACCESS_RW_INTERLEAVED, 1, self.rate, 1, _LATENCY_US
        )
        if rc < 0:
            self._close_source()
            raise self._fail(f"cannot set S16_LE mono {self.rate} Hz", rc)

    def _read_source(self, nbytes: int) -> bytes:
        lib, frames = libasound(), nbytes // BYTES_PER_SAMPLE
        while True:
            got = lib.snd_pcm_readi(self._pcm, self._buf, frames)
            if got > 0:
                return self._buf.raw[: got * BYTES_PER_SAMPLE]
            if got == 0:  # blocking mode should not return 0; read again rather than end the stream
                continue
            if got in (-errno.EPIPE, -errno.ESTRPIPE, -errno.EINTR):
                self.xruns += got == -errno.EPIPE
                if lib.snd_pcm_recover(self._pcm, int(got), 1) == 0:
                    continue
            raise self._fail("read failed", int(got))

    def _close_source(self) -> None:
        if self._pcm:
            libasound().snd_pcm_close(self._pcm)
            self._pcm = ctypes.c_void_p()


BACKEND = AlsaMicrophone

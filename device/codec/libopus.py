"""libopus through ctypes: an encoder and a decoder for 16-bit mono/stereo PCM, nothing more."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

from device.codec.errors import CodecError, CodecUnavailable

OPUS_APPLICATION_VOIP = 2048
OPUS_APPLICATION_AUDIO = 2049
_SET_BITRATE = 4002
_GET_LOOKAHEAD = 4027
MAX_PACKET = 4000  # bytes; libopus' recommended upper bound for one packet
RATES = (8000, 12000, 16000, 24000, 48000)


@functools.cache
def lib() -> ctypes.CDLL:
    """Load libopus once; CodecUnavailable names the package when it is missing."""
    name = ctypes.util.find_library("opus") or "libopus.so.0"
    try:
        so = ctypes.CDLL(name)
    except OSError as exc:
        raise CodecUnavailable("libopus", "libopus0") from exc
    so.opus_encoder_create.restype = ctypes.c_void_p
    so.opus_encoder_create.argtypes = [
        ctypes.c_int32,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
    ]
    so.opus_encode.restype = ctypes.c_int32
    so.opus_encode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int32,
    ]
    so.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
    so.opus_decoder_create.restype = ctypes.c_void_p
    so.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    so.opus_decode.restype = ctypes.c_int
    so.opus_decode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int32,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_int,
    ]
    so.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    so.opus_strerror.restype = ctypes.c_char_p
    so.opus_get_version_string.restype = ctypes.c_char_p
    return so


def version() -> str:
    return lib().opus_get_version_string().decode()


def _check(code: int, what: str) -> int:
    if code < 0:
        raise CodecError(f"libopus {what} failed: {lib().opus_strerror(code).decode()} ({code})")
    return code


def _check_rate(rate: int) -> None:
    if rate not in RATES:
        raise CodecError(f"Opus cannot take {rate} Hz (allowed: {', '.join(map(str, RATES))})")


class OpusEncoder:
    """One libopus encoder; `encode(pcm)` takes exactly one frame of S16LE samples."""

    def __init__(
        self,
        rate: int,
        channels: int = 1,
        bitrate: int = 32000,
        application: int = OPUS_APPLICATION_VOIP,
    ) -> None:
        _check_rate(rate)
        err = ctypes.c_int()
        self._enc = lib().opus_encoder_create(rate, channels, application, ctypes.byref(err))
        _check(err.value, "encoder_create")
        self.rate, self.channels = rate, channels
        _check(
            lib().opus_encoder_ctl(
                ctypes.c_void_p(self._enc), _SET_BITRATE, ctypes.c_int32(bitrate)
            ),
            "set bitrate",
        )
        look = ctypes.c_int32()
        _check(
            lib().opus_encoder_ctl(ctypes.c_void_p(self._enc), _GET_LOOKAHEAD, ctypes.byref(look)),
            "get lookahead",
        )
        self.lookahead = look.value  # samples at `rate`
        self._out = ctypes.create_string_buffer(MAX_PACKET)

    def encode(self, pcm: bytes) -> bytes:
        """One frame (2.5-60 ms of S16LE) -> one Opus packet."""
        frame = len(pcm) // (2 * self.channels)
        n = _check(lib().opus_encode(self._enc, pcm, frame, self._out, MAX_PACKET), "encode")
        return self._out.raw[:n]

    def close(self) -> None:
        if self._enc:
            lib().opus_encoder_destroy(self._enc)
            self._enc = None

    def __del__(self) -> None:
        self.close()


class OpusDecoder:
    """One libopus decoder: packet -> S16LE PCM at `rate`."""

    def __init__(self, rate: int, channels: int = 1) -> None:
        _check_rate(rate)
        err = ctypes.c_int()
        self._dec = lib().opus_decoder_create(rate, channels, ctypes.byref(err))
        _check(err.value, "decoder_create")
        self.rate, self.channels = rate, channels
        self._max = rate * 120 // 1000  # the longest Opus packet: 120 ms
        self._out = ctypes.create_string_buffer(self._max * 2 * channels)

    def decode(self, packet: bytes) -> bytes:
        n = _check(
            lib().opus_decode(self._dec, packet, len(packet), self._out, self._max, 0), "decode"
        )
        return self._out.raw[: n * 2 * self.channels]

    def close(self) -> None:
        if self._dec:
            lib().opus_decoder_destroy(self._dec)
            self._dec = None

    def __del__(self) -> None:
        self.close()

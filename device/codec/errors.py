"""Errors of the audio codec layer."""

from __future__ import annotations

from device.errors import RecorderError


class CodecError(RecorderError, ValueError):
    """Encoding or decoding failed, or a file is not what it claims to be."""


class CodecUnavailable(CodecError, RuntimeError):
    """The codec library is missing; says which package provides it."""

    def __init__(self, library: str, package: str) -> None:
        super().__init__(f"{library} not found: install the Debian package {package}")
        self.library = library
        self.package = package

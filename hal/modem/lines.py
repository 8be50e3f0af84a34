"""Bytes from the port -> AT lines, with a bounded buffer.

Tolerates what real modems send: CR, LF or CRLF in any mix, empty lines, NUL bytes and the 0xff
burst some modules emit at power-up (both dropped), bytes that are not UTF-8 (replaced), and
partial lines split across reads. A line longer than `max_line` bytes is cut and counted, so a
modem babbling without a line end cannot grow memory.
"""

from __future__ import annotations

_DROP = bytes.maketrans(b"", b"")
_DELETE = b"\x00\xff"


class LineSplitter:
    """Feed it bytes, get complete non-empty lines back (as str, stripped of whitespace)."""

    def __init__(self, max_line: int = 1024) -> None:
        self.max_line = max_line
        self.truncated = 0
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[str]:
        out: list[str] = []
        for byte in data.translate(_DROP, _DELETE):
            if byte in (0x0D, 0x0A):
                self._emit(out)
            elif len(self._buf) >= self.max_line:
                self.truncated += 1
                self._emit(out)
                self._buf.append(byte)
            else:
                self._buf.append(byte)
        return out

    @property
    def pending(self) -> str:
        """The partial line received so far (e.g. the `> ` prompt, which has no line end)."""
        return self._buf.decode("utf-8", "replace")

    def reset(self) -> None:
        self._buf.clear()

    def _emit(self, out: list[str]) -> None:
        text = self._buf.decode("utf-8", "replace").strip()
        self._buf.clear()
        if text:
            out.append(text)

"""Ogg pages (RFC 3533) and the Opus mapping's header packets (RFC 7845): writer and reader."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from device.codec.errors import CodecError

CONTINUED, BOS, EOS = 0x01, 0x02, 0x04
_MAX_SEGMENTS = 255
PACKETS_PER_PAGE = 50  # one second of 20 ms packets: a torn write loses at most that


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def ogg_crc(data: bytes) -> int:
    """The Ogg page checksum: CRC-32, polynomial 0x04C11DB7, not reflected, initial 0."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[(crc >> 24) ^ byte]
    return crc


def lacing(size: int) -> bytes:
    """The segment table entries for one packet of `size` bytes."""
    return bytes([255] * (size // 255) + [size % 255])


def opus_head(channels: int, pre_skip: int, input_rate: int) -> bytes:
    """RFC 7845 section 5.1: version 1, channel mapping family 0, output gain 0."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, input_rate, 0, 0)


def opus_tags(vendor: str, comments: list[str]) -> bytes:
    """RFC 7845 section 5.2."""
    out = b"OpusTags" + struct.pack("<I", len(vendor.encode())) + vendor.encode()
    out += struct.pack("<I", len(comments))
    for c in comments:
        out += struct.pack("<I", len(c.encode())) + c.encode()
    return out


class OggWriter:
    """Writes one logical stream: whole packets, pages flushed on request or when full."""

    def __init__(self, fh: BinaryIO, serial: int) -> None:
        self._fh = fh
        self._serial = serial
        self._sequence = 0
        self._packets: list[bytes] = []
        self._segments = 0
        self._first = True

    def page(self, packet: bytes, granule: int, flags: int = 0) -> None:
        """One packet on a page of its own (headers)."""
        self._emit(lacing(len(packet)), packet, granule, flags)

    def add(self, packet: bytes) -> bool:
        """Queue an audio packet; True when the page is full and must be flushed now."""
        self._packets.append(packet)
        self._segments += len(packet) // 255 + 1
        return self._segments > _MAX_SEGMENTS - 20 or len(self._packets) >= PACKETS_PER_PAGE

    def flush(self, granule: int, eos: bool = False) -> None:
        """Write the queued packets as one page ending at `granule`."""
        if not self._packets and not eos:
            return
        table = b"".join(lacing(len(p)) for p in self._packets)
        self._emit(table, b"".join(self._packets), granule, EOS if eos else 0)
        self._packets, self._segments = [], 0

    def _emit(self, table: bytes, body: bytes, granule: int, flags: int) -> None:
        if self._first:
            flags |= BOS
            self._first = False
        header = struct.pack(
            "<4sBBqIIIB", b"OggS", 0, flags, granule, self._serial, self._sequence, 0, len(table)
        )
        page = bytearray(header + table + body)
        struct.pack_into("<I", page, 22, ogg_crc(bytes(page)))
        self._fh.write(page)
        self._sequence += 1


@dataclass(frozen=True)
class Page:
    flags: int
    granule: int
    serial: int
    sequence: int
    table: bytes
    body: bytes


def read_pages(data: bytes) -> Iterator[Page]:
    """Parse and CRC-check every page; CodecError names the offset of the first bad one."""
    pos = 0
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS" or len(data) < pos + 27:
            raise CodecError(f"no Ogg page at byte {pos}")
        _, _, flags, granule, serial, seq, crc, nseg = struct.unpack_from("<4sBBqIIIB", data, pos)
        table = data[pos + 27 : pos + 27 + nseg]
        size = 27 + nseg + sum(table)
        raw = bytearray(data[pos : pos + size])
        struct.pack_into("<I", raw, 22, 0)
        if len(raw) < size or ogg_crc(bytes(raw)) != crc:
            raise CodecError(f"Ogg page {seq} at byte {pos}: bad CRC or truncated")
        yield Page(flags, granule, serial, seq, bytes(table), data[pos + 27 + nseg : pos + size])
        pos += size


def read_packets(data: bytes) -> Iterator[tuple[bytes, Page]]:
    """Every packet with the page it ends on."""
    partial = b""
    for page in read_pages(data):
        offset = 0
        for lace in page.table:
            partial += page.body[offset : offset + lace]
            offset += lace
            if lace < 255:
                yield partial, page
                partial = b""

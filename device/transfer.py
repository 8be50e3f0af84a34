"""PUT one file to a presigned URL, streamed from disk in bounded chunks.

The body is a `ChunkReader`: a file-like object with a length, so requests sets `Content-Length`
and urllib3 sends what `read()` returns (never chunked encoding, never the whole file in memory).
It reads `chunk_size` bytes from disk at a time and hands them out in the slices urllib3 asks for
(so one `sendall` stays small on a slow link); between disk chunks it asks the gate hook, applies
the rate cap and reports progress. The MD5 of the bytes sent is checked against a plain ETag.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import requests

from device import redact, transport
from device.api_errors import (
    EtagMismatch,
    FileChanged,
    S3Error,
    SignatureMismatch,
    TransferAborted,
    UrlExpired,
)
from device.errors import RecorderError
from device.gate import GateDecision

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
ContinueFn = Callable[[int, int], "bool | GateDecision"]
_PLAIN_ETAG = re.compile(r"[0-9a-fA-F]{32}")
_MAX_ERROR_BODY = 64 * 1024
# Smallest slice handed to one sendall(): fewer syscalls than urllib3's 16 KiB, yet small enough
# to go out within the connect timeout (which urllib3 applies while sending) on a slow link.
_MIN_PIECE = 64 * 1024


@dataclass(frozen=True)
class PutResult:
    etag: str
    md5_hex: str
    bytes_sent: int
    seconds: float


class _Stop(Exception):  # noqa: N818 - internal signal, deliberately not an OSError (urllib3 wraps those)
    """Raised inside read() to end the body; put_file raises the error it carries."""

    def __init__(self, error: RecorderError) -> None:
        super().__init__(str(error))
        self.error = error


class ChunkReader:
    """The request body: `len()` is the size; `read(n)` serves slices of one disk chunk."""

    def __init__(
        self,
        fh: BinaryIO,
        size: int,
        chunk_size: int,
        *,
        rate_limit_kbps: int = 0,
        progress: ProgressFn | None = None,
        should_continue: ContinueFn | None = None,
        name: str = "",
        hash_body: bool = True,
    ) -> None:
        self._fh, self._size, self._chunk_size = fh, size, chunk_size
        self._hash_body = hash_body
        self._rate_bps = rate_limit_kbps * 1000 / 8
        self._progress, self._should_continue, self._name = progress, should_continue, name
        self._view = memoryview(b"")
        self._pos = 0
        self.md5 = hashlib.md5()  # noqa: S324 - the S3 ETag is an MD5; not used for security
        self.bytes_read = 0
        self.bytes_sent = 0
        self._started = 0.0

    def __len__(self) -> int:
        return self._size

    def read(self, n: int = -1) -> memoryview | bytes:
        if self._pos >= len(self._view):
            if self.bytes_read >= self._size:
                return b""
            self._next_chunk()
        left = len(self._view) - self._pos
        n = left if n is None or n < 0 else min(left, max(n, _MIN_PIECE))
        piece = self._view[self._pos : self._pos + n]
        self._pace(len(piece))
        self._pos += len(piece)
        self.bytes_sent += len(piece)
        return piece

    def _next_chunk(self) -> None:
        if self.bytes_read:
            if self._progress:
                self._progress(self.bytes_read, self._size)
            self._ask_gate()
        else:
            self._started = time.monotonic()
        want = min(self._chunk_size, self._size - self.bytes_read)
        data = self._fh.read(want)
        if len(data) < want:
            raise _Stop(FileChanged(self._name, self._size, self.bytes_read + len(data)))
        if self._hash_body:
            self.md5.update(data)
        self.bytes_read += len(data)
        self._view, self._pos = memoryview(data), 0

    def _ask_gate(self) -> None:
        if self._should_continue is None:
            return
        answer = self._should_continue(self.bytes_read, self._size)
        decision = answer if isinstance(answer, GateDecision) else GateDecision(bool(answer))
        if not decision.allowed:
            raise _Stop(TransferAborted(decision.reason, self.bytes_read, decision.retry_after_s))

    def _pace(self, n: int) -> None:
        """Sleep so that the bytes handed out so far stay under the rate cap."""
        if not self._rate_bps:
            return
        due = self._started + (self.bytes_sent + n) / self._rate_bps
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)


def put_file(
    url: str,
    headers: Mapping[str, str],
    path: str | os.PathLike[str],
    *,
    chunk_size: int = 256 * 1024,
    rate_limit_kbps: int = 0,
    progress: ProgressFn | None = None,
    should_continue: ContinueFn | None = None,
    timeout: float | tuple[float, float] = (10.0, 60.0),
    ca_bundle: str | None = None,
    source_address: str | None = None,
    session: requests.Session | None = None,
    known_md5: str | None = None,
) -> PutResult:
    """PUT the file with exactly `headers` plus Content-Length; raise a typed error on failure.

    `known_md5`: the file's MD5 as recorded earlier (the spool's). The body is then not hashed
    again; a plain-MD5 ETag must equal it, and the result's `md5_hex` is it when the ETag confirmed
    it, or "" when the ETag is of another form (the caller decides whether to hash the file).
    """
    path = Path(path)
    own = session is None
    session = session or transport.new_session(source_address, ca_bundle)
    started = time.monotonic()
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            reader = ChunkReader(
                fh,
                size,
                chunk_size,
                rate_limit_kbps=rate_limit_kbps,
                progress=progress,
                should_continue=should_continue,
                name=str(path),
                hash_body=known_md5 is None,
            )
            response = _send(session, url, _put_headers(headers, size), reader, timeout)
    finally:
        if own:
            session.close()
    result = _check(response, url, reader, time.monotonic() - started, known_md5)
    if progress:
        progress(reader.bytes_read, size)
    return result


def _put_headers(headers: Mapping[str, str], size: int) -> dict[str, str]:
    out = dict(headers)
    given = {k.lower(): v for k, v in out.items()}
    if "content-length" in given and given["content-length"].strip() != str(size):
        raise ValueError(f"signed Content-Length {given['content-length']} is not the size {size}")
    if "content-length" not in given:
        out["Content-Length"] = str(size)
    return out


def _send(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    reader: ChunkReader,
    timeout: float | tuple[float, float],
) -> tuple[int, Mapping[str, str], bytes | None]:
    try:
        with transport.mapped_errors(url):
            response = session.put(
                url,
                data=reader,
                headers=headers,
                timeout=timeout,
                stream=True,
                allow_redirects=False,
            )
            with response:
                body = transport.read_capped(response, _MAX_ERROR_BODY)
            return response.status_code, response.headers, body
    except _Stop as stop:
        raise stop.error from None


def _check(
    response: tuple[int, Mapping[str, str], bytes | None],
    url: str,
    reader: ChunkReader,
    seconds: float,
    known_md5: str | None = None,
) -> PutResult:
    status, headers, body = response
    if status >= 300:
        raise s3_error(status, body, url, headers)
    md5_hex = known_md5.lower() if known_md5 else reader.md5.hexdigest()
    etag = headers.get("ETag", "").strip()
    bare = etag.strip('"')
    plain = bool(_PLAIN_ETAG.fullmatch(bare))
    if plain and bare.lower() != md5_hex:
        raise EtagMismatch(url, etag, md5_hex)
    if known_md5 and not plain:
        md5_hex = ""  # nothing confirmed what the server received
    log.debug("PUT %s: %d bytes in %.2f s", redact.safe_url(url), reader.bytes_sent, seconds)
    return PutResult(etag, md5_hex, reader.bytes_sent, seconds)


def s3_error(status: int, body: bytes | None, url: str, headers: Mapping[str, str]) -> S3Error:
    """Parse `<Error><Code>..</Code><Message>..</Message></Error>` into the matching S3Error."""
    code, message = _parse_xml_error(body)
    if not code:
        code, message = f"HTTP{status}", message or "reply without an S3 error document"
    wait = _retry_after(headers.get("Retry-After"))
    if code == "AccessDenied" and "expired" in message.lower():
        return UrlExpired(status, code, message, url, retry_after_s=wait)
    if code == "SignatureDoesNotMatch":
        return SignatureMismatch(status, code, message, url, retry_after_s=wait)
    return S3Error(status, code, message, url, retry_after_s=wait)


def _parse_xml_error(body: bytes | None) -> tuple[str, str]:
    if not body:
        return "", ""
    try:
        root = ET.fromstring(body)  # noqa: S314 - a few KiB from our own storage, capped above
    except ET.ParseError:
        return "", f"non-XML reply of {len(body)} bytes"
    code = root.findtext("Code") or root.findtext("{*}Code") or ""
    message = root.findtext("Message") or root.findtext("{*}Message") or ""
    return code.strip(), message.strip()


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None

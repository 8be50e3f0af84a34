"""A small HTTP proxy in front of SeaweedFS that the upload URLs point at, to inject PUT faults.

URLs are presigned for the proxy's own host:port and the proxy forwards the request head
unchanged (Host included), so SeaweedFS still checks the signature. It handles one request per
connection (it asks the upstream for `Connection: close` and tells the client the same), streams
bodies with large buffers, refuses chunked bodies with 501 NotImplemented as S3 does, and can
cut a PUT after N bytes, stall it, or answer 503 SlowDown / 500 InternalError instead.
"""

from __future__ import annotations

import logging
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from device.clock import utc_iso
from tools.bench_backend.errors import BackendError
from tools.bench_backend.faults import S3_PUT, FaultPlan, ServedFault
from tools.bench_backend.ports import LOOPBACK

log = logging.getLogger(__name__)
BUFFER_BYTES = 1024 * 1024
MAX_HEAD_BYTES = 64 * 1024
IDLE_TIMEOUT = 120.0
_HOP_HEADERS = {b"connection", b"keep-alive", b"proxy-connection", b"expect"}
S3_ERRORS = {
    500: ("InternalError", "We encountered an internal error. Please try again."),
    501: ("NotImplemented", "A header you provided implies functionality that is not implemented"),
    503: ("SlowDown", "Please reduce your request rate."),
}


class ProxyError(BackendError, ConnectionError):
    """A request the proxy cannot relay (malformed head, upstream gone)."""


@dataclass
class _Request:
    head: bytes
    method: str
    target: str
    headers: list[tuple[bytes, bytes]]

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def upstream_head(self) -> bytes:
        lines = [self.head.split(b"\r\n", 1)[0]]
        lines += [k + b": " + v for k, v in self.headers if k.lower() not in _HOP_HEADERS]
        lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n"


class _Stream:
    """A socket with read-ahead: request/response heads, then exact body lengths."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = b""

    def read_head(self) -> bytes | None:
        buf = bytearray(self.pending)
        while b"\r\n\r\n" not in buf:
            if len(buf) > MAX_HEAD_BYTES:
                raise ProxyError("HTTP head too large")
            chunk = self.sock.recv(65536)
            if not chunk:
                if buf:
                    raise ProxyError("connection closed inside an HTTP head")
                return None
            buf += chunk
        end = buf.index(b"\r\n\r\n") + 4
        self.pending = bytes(buf[end:])
        return bytes(buf[:end])

    def pump(self, dst: socket.socket | None, limit: int | None) -> int:
        """Forward `limit` bytes (None: until EOF) to `dst` (None: discard); returns the count."""
        moved = 0
        if self.pending:
            part = self.pending if limit is None else self.pending[:limit]
            if dst is not None:
                dst.sendall(part)
            moved, self.pending = len(part), self.pending[len(part) :]
        buf = bytearray(BUFFER_BYTES)
        view = memoryview(buf)
        while limit is None or moved < limit:
            want = BUFFER_BYTES if limit is None else min(BUFFER_BYTES, limit - moved)
            got = self.sock.recv_into(view, want)
            if not got:
                break
            if dst is not None:
                dst.sendall(view[:got])
            moved += got
        return moved


def _parse(head: bytes) -> _Request:
    lines = head[:-4].split(b"\r\n")
    try:
        method, target, _version = lines[0].decode("latin-1").split(" ", 2)
    except ValueError as exc:
        raise ProxyError("malformed HTTP request line") from exc  # (it may hold a signature)
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ProxyError("bad header line")
        headers.append((name.strip(), value.strip()))
    return _Request(head, method, target, headers)


def s3_error(status: int, resource: str) -> bytes:
    """A complete S3-style XML error response (closes the connection)."""
    code, message = S3_ERRORS.get(status, ("InternalError", "Injected error"))
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>{resource}</Resource><RequestId>{secrets.token_hex(8).upper()}</RequestId>"
        "</Error>"
    ).encode()
    reason = {500: "Internal Server Error", 501: "Not Implemented", 503: "Slow Down"}
    head = (
        f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\n"
        "Content-Type: application/xml\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nServer: bench-s3-proxy\r\n"
        f"Date: {formatdate(usegmt=True)}\r\n\r\n"
    ).encode()
    return head + body


class S3FaultProxy:
    """Listens on loopback (HTTPS with `ssl_context`), relays to SeaweedFS at `upstream`."""

    def __init__(
        self,
        upstream: tuple[str, int],
        faults: FaultPlan,
        on_request: Callable[[dict[str, Any]], None],
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.upstream = upstream
        self.faults = faults
        self.on_request = on_request
        self.ssl_context = ssl_context
        self._listener = socket.create_server((LOOPBACK, 0), backlog=128)
        self._listener.settimeout(0.1)
        self._stopping = threading.Event()
        self._active: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, name="s3-proxy", daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            for sock in list(self._active):
                _shutdown(sock)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if not self._stopping.is_set():
                    log.error("S3 proxy accept failed: %s", exc)
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        with self._lock:
            self._active.add(raw)
        client = None
        try:
            client = self._wrap(raw)
            if client is not None:
                self._relay_one(_Stream(client))
        except (OSError, ProxyError) as exc:
            log.info("S3 proxy connection ended: %s", exc)
        finally:
            for sock in (client, raw):
                if sock is not None:
                    _shutdown(sock)
                    sock.close()
                    with self._lock:
                        self._active.discard(sock)

    def _wrap(self, client: socket.socket) -> socket.socket | None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.settimeout(IDLE_TIMEOUT)
        if self.ssl_context is None:
            return client
        client.settimeout(10)
        try:
            tls = self.ssl_context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.info("S3 proxy TLS handshake failed: %s", exc)
            return None
        with self._lock:
            self._active.discard(client)
            self._active.add(tls)
        tls.settimeout(IDLE_TIMEOUT)
        return tls

    def _relay_one(self, client: _Stream) -> None:
        head = client.read_head()
        if head is None:
            return
        request = _parse(head)
        record: dict[str, Any] = {
            "method": request.method,
            "key": _key(request.path),
            "device_id": _device(request.path),
            "at": utc_iso(time.time()),
            "fault": None,
        }
        try:
            self._handle(client, request, record)
        finally:
            self.on_request(record)

    def _handle(self, client: _Stream, request: _Request, record: dict[str, Any]) -> None:
        if request.header(b"transfer-encoding") is not None:
            _drain_chunked(client)
            client.sock.sendall(s3_error(501, request.path))
            record.update(status=501, bytes=0)
            return
        length = int(request.header(b"content-length") or 0)
        fault = self.faults.pick(S3_PUT, record["device_id"]) if request.method == "PUT" else None
        record["fault"] = fault.rule.kind if fault else None
        if fault and fault.rule.kind in ("slow_down", "status"):
            status = 503 if fault.rule.kind == "slow_down" else fault.param("status")
            record.update(status=status, bytes=client.pump(None, length))
            client.sock.sendall(s3_error(status, request.path))
            return
        if request.header(b"expect") is not None:
            client.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        upstream = socket.create_connection(self.upstream, timeout=IDLE_TIMEOUT)
        try:
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream.sendall(request.upstream_head())
            record["bytes"] = self._forward_body(client, upstream, length, fault)
            if record["bytes"] < length:
                record["status"] = None  # cut: no reply at all
                return
            self._relay_response(_Stream(upstream), client, fault, record)
        finally:
            upstream.close()

    def _forward_body(
        self, client: _Stream, upstream: socket.socket, length: int, fault: ServedFault | None
    ) -> int:
        if fault is None or fault.rule.kind not in ("cut_put", "stall_put"):
            return client.pump(upstream, length)
        first = min(length, fault.param("after_bytes"))
        moved = client.pump(upstream, first)
        if fault.rule.kind == "cut_put":
            return moved
        self._stopping.wait(fault.param("seconds"))
        return moved + client.pump(upstream, length - moved)

    def _relay_response(
        self, upstream: _Stream, client: _Stream, fault: ServedFault | None, record: dict[str, Any]
    ) -> None:
        head = upstream.read_head()
        if head is None:
            raise ProxyError("S3 server closed without a reply")
        record["status"] = int(head.split(b" ", 2)[1])
        if fault and fault.rule.kind == "drop_after_work":
            upstream.pump(None, None)
            return
        lines = [ln for ln in head[:-4].split(b"\r\n") if not ln.lower().startswith(b"connection:")]
        client.sock.sendall(b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n")
        upstream.pump(client.sock, None)


def _key(path: str) -> str:
    parts = path.lstrip("/").split("/", 1)
    return parts[1] if len(parts) > 1 else ""


def _device(path: str) -> str | None:
    parts = path.lstrip("/").split("/")
    return parts[1] if len(parts) > 2 else None


def _drain_chunked(client: _Stream, budget: float = 2.0) -> None:
    """Read a chunked body we refuse, so the client sees our 501 rather than a reset."""
    deadline = time.monotonic() + budget
    tail = client.pending[-5:]
    client.pending = b""
    client.sock.settimeout(0.2)
    while not tail.endswith(b"0\r\n\r\n") and time.monotonic() < deadline:
        try:
            chunk = client.sock.recv(BUFFER_BYTES)
        except TimeoutError:
            continue
        if not chunk:
            break
        tail = (tail + chunk)[-5:]
    client.sock.settimeout(IDLE_TIMEOUT)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError as exc:
        log.debug("shutdown of a finished connection: %s", exc)

"""The HTTP server of the API emulator (stdlib ThreadingHTTPServer, optionally TLS).

Per device call: route, authenticate, rate-limit, pick a fault, validate, idempotency, work,
then spoil the reply if the fault says so. Every /v1 reply carries X-RateLimit-* and Date.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tools.bench_backend import admin, handlers, idempotency, routes, shaping
from tools.bench_backend.context import Backend
from tools.bench_backend.faults import ServedFault
from tools.bench_backend.ports import LOOPBACK
from tools.bench_backend.ratelimit import Verdict
from tools.bench_backend.replies import ApiError, Reply, error_reply
from tools.bench_backend.store import Device

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024
MAX_DRAIN_BYTES = 64 * 1024 * 1024  # a refused body is read and dropped up to this size
HUGE_CHUNK = 64 * 1024


class _DropConnection(Exception):
    """Close the connection without any reply (the drop_after_work fault)."""


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, backend: Backend, port: int, ssl_context: ssl.SSLContext | None) -> None:
        super().__init__((LOOPBACK, port), ApiHandler)
        self.backend = backend
        self.ssl_context = ssl_context

    def finish_request(self, request: Any, client_address: Any) -> None:
        """TLS handshake in the connection's own thread, so a slow client blocks nobody."""
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10)
        try:
            wrapped = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.info("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            wrapped.settimeout(ApiHandler.timeout)
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bench-backend/0.1"
    timeout = 120
    disable_nagle_algorithm = True  # header and body are two writes: no delayed-ACK stalls
    server: ApiServer

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.info("%s %s", self.address_string(), format % args)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        try:
            raw = self._read_body()
        except ApiError as exc:
            self.close_connection = True
            self._send(exc.reply())
            return
        try:
            if url.path.startswith("/_admin/"):
                self._send(self._admin(method, url.path, parse_qs(url.query), raw))
            else:
                self._api(method, url.path, raw)
        except _DropConnection:
            self.close_connection = True
            _hard_close(self.connection)
        except (BrokenPipeError, ConnectionResetError) as exc:
            log.info("client went away during %s %s: %s", method, url.path, exc)
            self.close_connection = True

    def _read_body(self) -> bytes:
        """The request body; a chunked or oversized one is read and dropped, then refused."""
        if self.headers.get("Transfer-Encoding"):
            self._drain_chunked()
            raise ApiError(411, "send a Content-Length, not a chunked body", "length_required")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise ApiError(400, "Content-Length is not a number") from exc
        if length > MAX_BODY_BYTES:
            self._drain(length)
            raise ApiError(413, f"body over {MAX_BODY_BYTES} bytes", "payload_too_large")
        return self.rfile.read(length) if length else b""

    def _drain(self, length: int) -> None:
        left = min(length, MAX_DRAIN_BYTES)
        while left > 0:
            got = self.rfile.read(min(left, 65536))
            if not got:
                return
            left -= len(got)

    def _drain_chunked(self) -> None:
        budget = MAX_DRAIN_BYTES
        while budget > 0:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                log.info("malformed chunk size %r: dropping the connection", line[:40])
                return
            if not line or size == 0:
                self.rfile.readline(1024)  # the blank line after the last chunk
                return
            self._drain(size + 2)
            budget -= size

    # ----- device endpoints -------------------------------------------------------------
    def _api(self, method: str, path: str, raw: bytes) -> None:
        ctx = self.server.backend
        endpoint, path_id, known = routes.match(routes.API_ROUTES, method, path)
        if endpoint is None:
            status = 405 if known else 404
            reply = error_reply(status, f"no route for {method} {path}")
            self._send(reply, ctx.limiter.check(None, False))
            return
        device = None
        with ctx.store.lock:
            try:
                device = self._authenticate(ctx)
            finally:
                ctx.store.count_call(endpoint, device.id if device else None)
        if device is None:
            self._send(_UNAUTHORIZED, ctx.limiter.check(None, False))
            return
        verdict = ctx.limiter.check(device.project, endpoint == "upload_url")
        if not verdict.allowed:
            reply = error_reply(429, "rate limit exceeded for this project", "rate_limit_exceeded")
            reply.headers["Retry-After"] = str(verdict.retry_after())
            self._send(reply, verdict)
            return
        fault = ctx.faults.pick(endpoint, device.id)
        if fault and fault.rule.kind == "delay":
            time.sleep(fault.param("seconds"))  # a slow server: then the normal reply
        early = shaping.pre_work_reply(fault) if fault else None
        if early is not None:
            self._send(early, verdict)
            return
        reply = self._work(ctx, endpoint, method, path, path_id, device, raw, fault)
        self._send_spoiled(reply, fault, verdict)

    def _authenticate(self, ctx: Backend) -> Device | None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        device_id = ctx.store.tokens.get(token.strip())
        return ctx.store.devices.get(device_id) if device_id else None

    def _work(
        self,
        ctx: Backend,
        endpoint: str,
        method: str,
        path: str,
        path_id: str | None,
        device: Device,
        raw: bytes,
        fault: ServedFault | None,
    ) -> Reply:
        with ctx.store.lock:
            try:
                body = _parse_json(raw)
                key = self.headers.get(idempotency.HEADER)
                if key is None or endpoint not in routes.IDEMPOTENT_ENDPOINTS:
                    return _run(ctx, endpoint, path_id, device, body, fault)
                idempotency.validate_key(key)
                print_ = idempotency.fingerprint(device.id, method, path, body)
                replay = ctx.idempotency.lookup(device.project, key, print_)
                if replay is not None:
                    return replay
                reply = _run(ctx, endpoint, path_id, device, body, fault)
                ctx.idempotency.store(device.project, key, print_, reply)
                return reply
            except ApiError as exc:
                return exc.reply()
            except Exception:  # noqa: BLE001 - a bug must answer 500, not kill the thread
                log.exception("handler %s failed", endpoint)
                return error_reply(500, "internal error in the bench backend")

    def _send_spoiled(self, reply: Reply, fault: ServedFault | None, verdict: Verdict) -> None:
        if fault is None:
            self._send(reply, verdict)
            return
        kind = fault.rule.kind
        if kind == "drop_after_work":
            raise _DropConnection
        if kind == "huge_body":
            self._send_huge(fault.param("bytes"), verdict)
            return
        self._send(shaping.reshape(reply, fault), verdict)

    # ----- admin ------------------------------------------------------------------------
    def _admin(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> Reply:
        ctx = self.server.backend
        name, path_id, known = routes.match(routes.ADMIN_ROUTES, method, path)
        if name is None:
            return error_reply(405 if known else 404, f"no admin route for {method} {path}")
        with ctx.store.lock:
            try:
                body = _parse_json(raw)
                return _run_admin(ctx, name, path_id, body, query)
            except ApiError as exc:
                return exc.reply()
            except Exception:  # noqa: BLE001 - a bug must answer 500, not kill the thread
                log.exception("admin %s failed", name)
                return error_reply(500, "internal error in the bench backend")

    # ----- output -----------------------------------------------------------------------
    def _send(self, reply: Reply, verdict: Verdict | None = None) -> None:
        if isinstance(reply.body, bytes):
            payload, ctype = reply.body, "application/json"
        else:
            payload, ctype = json.dumps(reply.body).encode(), "application/json"
        headers = {"Content-Type": ctype, **reply.headers}
        if verdict is not None:
            headers.update(verdict.headers())
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _send_huge(self, size: int, verdict: Verdict) -> None:
        """A 200 JSON body of `size` bytes: {"padding": "xxx..."}."""
        head, tail = b'{"padding": "', b'"}'
        filler = max(0, size - len(head) - len(tail))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for name, value in verdict.headers().items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(head) + filler + len(tail)))
        self.end_headers()
        self.wfile.write(head)
        block = b"x" * HUGE_CHUNK
        while filler > 0:
            self.wfile.write(block[: min(filler, HUGE_CHUNK)])
            filler -= HUGE_CHUNK
        self.wfile.write(tail)


_UNAUTHORIZED = error_reply(401, "missing, unknown or revoked device token", "unauthorized")


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"body: not valid JSON ({exc})", "invalid_request") from exc


def _run(
    ctx: Backend,
    endpoint: str,
    path_id: str | None,
    device: Device,
    body: Any,
    fault: ServedFault | None,
) -> Reply:
    assert path_id is not None or endpoint == "create_recording"
    if endpoint == "create_recording":
        return handlers.create_recording(ctx, device, body)
    if endpoint == "upload_url":
        return handlers.upload_url(ctx, device, path_id, body, fault)
    if endpoint == "complete":
        return handlers.complete(ctx, device, path_id)
    if endpoint == "get_recording":
        return handlers.get_recording(ctx, device, path_id)
    if endpoint == "heartbeat":
        return handlers.heartbeat(ctx, device, path_id, body)
    return handlers.token_refresh(ctx, device, path_id)


def _run_admin(
    ctx: Backend, name: str, path_id: str | None, body: Any, query: dict[str, list[str]]
) -> Reply:
    if name == "register_device":
        return admin.register_device(ctx, body)
    if name in ("unbind", "revoke", "bind"):
        return getattr(admin, name)(ctx, path_id)
    if name == "add_command":
        return admin.add_command(ctx, path_id, body)
    if name == "state":
        objects = (query.get("objects") or ["0"])[0] in ("1", "true", "yes")
        return admin.state(ctx, (query.get("device") or [None])[0], objects)
    if name == "cancel_command":
        return admin.cancel_command(ctx, path_id)
    if name == "set_faults":
        return admin.set_faults(ctx, body)
    if name == "clear_faults":
        return admin.clear_faults(ctx)
    if name == "get_faults":
        return admin.get_faults(ctx)
    if name == "set_rate_limits":
        return admin.set_rate_limits(ctx, body)
    return Reply(200, {"status": "ok"})


def _hard_close(sock: socket.socket) -> None:
    """End the connection at once, with no reply, as a crashed server or a cut link would."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError as exc:
        log.debug("closing a dropped connection: %s", exc)

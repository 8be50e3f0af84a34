"""The cloud API client: one method per device-side endpoint, typed results, typed errors.

One `requests.Session`; connect and read timeouts on every call; TLS verified (a private CA through
`ca_bundle`); replies read with a size cap. Each call is one attempt: retrying is the caller's job
(see device.retry), and create-type calls take the caller's Idempotency-Key so a retry reuses it.
The offset between the server's `Date` and the local clock is kept for decisions in server time.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from device import USER_AGENT, clock, contract, redact, transport
from device.api_errors import (
    ApiError,
    Conflict,
    Forbidden,
    InvalidRequest,
    MalformedReply,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)
from device.api_replies import HeartbeatReply, Recording, UploadUrl, token_from_reply

log = logging.getLogger(__name__)

_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


class ApiClient:
    """Talks to `base_url` (e.g. https://api.bota.dev/v1) with a device token."""

    def __init__(
        self,
        base_url: str,
        token: str | Callable[[], str],
        *,
        ca_bundle: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        max_reply_bytes: int = 256 * 1024,
        source_address: str | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = (connect_timeout, read_timeout)
        self.max_reply_bytes = max_reply_bytes
        self.session = transport.new_session(source_address, ca_bundle)
        self.session.headers["User-Agent"] = user_agent
        self.server_offset_s: float | None = None
        if isinstance(token, str):
            redact.register_secret(token)

    def __repr__(self) -> str:
        return f"ApiClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- server time -------------------------------------------------------------------------

    def server_now(self) -> datetime:
        """The server's idea of now (local clock plus the last offset seen; local if none yet)."""
        return datetime.now(UTC) + timedelta(seconds=self.server_offset_s or 0.0)

    # ---- endpoints ---------------------------------------------------------------------------

    def create_recording(
        self,
        *,
        started_at: datetime,
        idempotency_key: str,
        ended_at: datetime | None = None,
        name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Recording:
        body: dict[str, Any] = {"started_at": clock.utc_iso(started_at)}
        if ended_at is not None:
            body["ended_at"] = clock.utc_iso(ended_at)
        if name is not None:
            body["name"] = name
        if metadata is not None:
            body["metadata"] = dict(metadata)
        path = "/recordings"
        status, obj = self._call("POST", path, body, idempotency_key)
        return Recording.from_reply(obj, path, status)

    def get_upload_url(
        self,
        recording_id: str,
        *,
        type: str,
        content_type: str,
        file_size_bytes: int,
        captured_at: datetime | None,
        idempotency_key: str,
    ) -> UploadUrl:
        body: dict[str, Any] = {
            "type": type,
            "content_type": content_type,
            "file_size_bytes": file_size_bytes,
        }
        if captured_at is not None:
            body["captured_at"] = clock.utc_iso(captured_at)
        path = f"/recordings/{recording_id}/upload-url"
        status, obj = self._call("POST", path, body, idempotency_key)
        return UploadUrl.from_reply(obj, path, status)

    def complete(self, recording_id: str, *, idempotency_key: str) -> Recording:
        path = f"/recordings/{recording_id}/upload-complete"
        status, obj = self._call("POST", path, None, idempotency_key)
        return Recording.from_reply(obj, path, status)

    def heartbeat(self, body: Mapping[str, Any], device_id: str = "me") -> HeartbeatReply:
        path = f"/devices/{device_id}/heartbeat"
        status, obj = self._call("POST", path, dict(body), None)
        return HeartbeatReply.from_reply(obj, path, status, contract.HEARTBEAT_COMMANDS_FIELD)

    def refresh_token(self, device_id: str) -> str:
        """The new token (the old one is revoked by the server once this returns)."""
        path = f"/devices/{device_id}/token/refresh"
        status, obj = self._call("POST", path, None, None)
        return token_from_reply(obj, path, status)

    # ---- one request -------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, body: Any, idempotency_key: str | None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self._current_token()}", "Accept": "application/json"}
        if idempotency_key is not None:
            if not contract.IDEMPOTENCY_KEY_RE.match(idempotency_key):
                raise ValueError(f"idempotency key {idempotency_key!r} has a wrong form")
            headers["Idempotency-Key"] = idempotency_key
        url = self.base_url + path
        log.debug("%s %s", method, path)
        with transport.mapped_errors(url):
            response = self.session.request(
                method,
                url,
                json=body,
                headers=headers,
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,  # a redirect is an error here, never a resend elsewhere
            )
            with response:
                raw = transport.read_capped(response, self.max_reply_bytes)
        self._note_date(response)
        log.debug("%s %s -> %s", method, path, response.status_code)
        if raw is None:
            raise self._error(
                response, path, MalformedReply, "", f"reply over {self.max_reply_bytes} bytes"
            )
        obj = self._json(response, raw, path)
        if response.status_code >= 400 or response.status_code < 200:
            raise self._status_error(response, path, obj)
        return response.status_code, obj

    def _current_token(self) -> str:
        token = self._token() if callable(self._token) else self._token
        redact.register_secret(token)
        return token

    def _note_date(self, response: requests.Response) -> None:
        server = transport.parse_http_date(response.headers.get("Date"))
        if server is not None:
            self.server_offset_s = server.timestamp() - time.time()

    def _json(self, response: requests.Response, raw: bytes, path: str) -> Any:
        if not raw.strip():
            if response.status_code >= 400:
                return None
            raise self._error(response, path, MalformedReply, "", "empty reply, expected JSON")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            if response.status_code >= 400:
                return None
            kind = response.headers.get("Content-Type", "unknown type").split(";")[0]
            raise self._error(
                response, path, MalformedReply, "", f"reply is not JSON ({kind}, {len(raw)} bytes)"
            ) from None

    def _status_error(self, response: requests.Response, path: str, obj: Any) -> ApiError:
        status = response.status_code
        err = obj.get("error") if isinstance(obj, Mapping) else None
        code = err.get("code") if isinstance(err, Mapping) else None
        message = err.get("message") if isinstance(err, Mapping) else None
        code = code if isinstance(code, str) else ""
        message = message if isinstance(message, str) else response.reason or ""
        cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
        return self._error(response, path, cls, code, message)

    def _error(
        self, response: requests.Response, path: str, cls: type[ApiError], code: str, message: str
    ) -> ApiError:
        wait = retry_after_s(response.headers, rate_limited=cls is RateLimited)
        return cls(response.status_code, code, message, path, retry_after_s=wait)


def retry_after_s(headers: Mapping[str, str], rate_limited: bool = False) -> float | None:
    """The wait the server asks for, in seconds of server time: `Retry-After` (seconds or an
    HTTP date) and, on a 429, `X-RateLimit-Reset` (Unix seconds), the longer of the two, both
    against the reply's `Date` (a skewed local clock does not matter). None when none is usable."""
    now = transport.parse_http_date(headers.get("Date"))
    waits = [_retry_after(headers.get("Retry-After"), now)]
    if rate_limited:
        waits.append(_reset(headers.get("X-RateLimit-Reset"), now))
    found = [w for w in waits if w is not None]
    return max(found) if found else None


def _retry_after(value: str | None, now: datetime | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        when = transport.parse_http_date(value)
        if when is None or now is None:
            return None
        seconds = (when - now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _reset(value: str | None, now: datetime | None) -> float | None:
    if not value or now is None:
        return None
    try:
        reset = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(reset):
        return None
    return max(0.0, reset - now.timestamp())


def from_config(api_config: Any, token: str | Callable[[], str]) -> ApiClient:
    """A client as the `[api]` section says (base_url, ca_bundle, timeouts, reply cap)."""
    return ApiClient(
        api_config.base_url,
        token,
        ca_bundle=api_config.ca_bundle or None,
        connect_timeout=api_config.connect_timeout_s,
        read_timeout=api_config.read_timeout_s,
        max_reply_bytes=api_config.max_reply_kib * 1024,
    )

"""Errors of the network path: transport failures, API replies and S3 replies.

One hierarchy under `RecorderError`; each class also inherits the builtin it resembles. No text here
ever holds a token or a URL's query string: paths and URLs are passed through `redact.safe_url`, and
server messages through `redact.redact`.
"""

from __future__ import annotations

from device import redact
from device.errors import RecorderError


class NetError(RecorderError):
    """Root of every error of a request that went (or tried to go) over the network."""


class TransportError(NetError, ConnectionError):
    """No HTTP reply: `sent` says whether the request may have reached the server."""

    sent: bool = True

    def __init__(self, url: str, reason: str) -> None:
        self.url = redact.safe_url(url)
        self.reason = redact.redact(reason)
        super().__init__(f"{self.describe()} {self.url}: {self.reason}")

    def describe(self) -> str:
        return "request failed after it was sent to"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, reason={self.reason!r})"


class ConnectFailed(TransportError):
    """Could not connect (refused, DNS, TLS handshake, connect timeout): safe to repeat."""

    sent = False

    def describe(self) -> str:
        return "could not connect to"


class TlsError(ConnectFailed):
    """The TLS handshake failed (e.g. the certificate does not verify); retrying rarely helps."""

    def describe(self) -> str:
        return "TLS verification failed for"


class ReplyLost(TransportError):
    """The request was sent (maybe in part) but no complete reply came: a cut, a timeout."""


class ApiError(NetError):
    """The API answered with an error (or with a reply we cannot use)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        path: str,
        *,
        retry_after_s: float | None = None,
    ) -> None:
        self.status = status
        self.code = redact.redact(code or "")
        self.message = redact.redact(message or "")
        self.path = redact.safe_url(path)
        self.retry_after_s = retry_after_s
        text = f"API {self.path} answered {status}"
        if self.code:
            text += f" {self.code}"
        if self.message:
            text += f": {self.message}"
        super().__init__(text)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, "
            f"message={self.message!r}, path={self.path!r})"
        )


class InvalidRequest(ApiError, ValueError):
    """400: the request is wrong; repeating it unchanged cannot help."""


class Unauthorized(ApiError, PermissionError):
    """401: the token is invalid or revoked."""


class Forbidden(ApiError, PermissionError):
    """403: the token may not do this."""


class NotFound(ApiError, LookupError):
    """404: the server does not know the object (recreate what is needed)."""


class Conflict(ApiError):
    """409: the object exists or is in another state; read the state, do not duplicate."""


class RateLimited(ApiError):
    """429: `retry_after_s` is the wait the server asked for, judged in server time."""


class ServerError(ApiError):
    """5xx: the server failed; retry with backoff."""


class MalformedReply(ApiError, ValueError):
    """A reply we cannot use: not JSON, a missing or mistyped field, over the size cap."""


class S3Error(NetError):
    """The storage answered a PUT with an error (XML `<Error><Code>` parsed)."""

    def __init__(
        self, status: int, code: str, message: str, url: str, *, retry_after_s: float | None = None
    ) -> None:
        self.status = status
        self.code = redact.redact(code or "")
        self.message = redact.redact(message or "")
        self.url = redact.safe_url(url)
        self.retry_after_s = retry_after_s
        super().__init__(f"storage PUT {self.url} answered {status} {self.code}: {self.message}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, url={self.url!r})"


class UrlExpired(S3Error, PermissionError):
    """The presigned URL has expired: ask for a new one (with a new idempotency key)."""


class SignatureMismatch(S3Error, PermissionError):
    """The PUT's headers differ from what was signed: a bug or a meddling proxy."""


class EtagMismatch(NetError, ValueError):
    """The storage's MD5 ETag differs from the MD5 of the bytes sent: the body was damaged."""

    def __init__(self, url: str, etag: str, md5_hex: str) -> None:
        self.url = redact.safe_url(url)
        self.etag = etag
        self.md5_hex = md5_hex
        super().__init__(
            f"storage PUT {self.url}: ETag {etag} is not the MD5 {md5_hex} of the body"
        )


class TransferAborted(RecorderError, InterruptedError):
    """The gate said stop between chunks; the file is untouched and is sent again later."""

    def __init__(self, reason: str, bytes_sent: int, retry_after_s: float | None = None) -> None:
        self.reason = reason
        self.bytes_sent = bytes_sent
        self.retry_after_s = retry_after_s
        super().__init__(f"upload paused after {bytes_sent} bytes: {reason or 'not allowed now'}")


class FileChanged(RecorderError, OSError):
    """The file was shorter than when the PUT started: it changed underneath us."""

    def __init__(self, path: str, expected: int, got: int) -> None:
        self.path = path
        self.expected = expected
        self.got = got
        super().__init__(f"{path}: file changed during upload ({got} of {expected} bytes)")

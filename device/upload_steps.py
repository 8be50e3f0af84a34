"""The steps that take one local file to a completed recording, for the CLI and the uploader.

Each step is a small function; `Retrier` repeats one step with the retry policy (same idempotency
key on every attempt of that step); `upload_file` runs them all in-process: create recording ->
upload URL -> PUT -> complete. A URL that has expired, or is within the margin of expiry in server
time, is replaced by a new one under a new key. The file is opened read-only and never changed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from device import contract
from device.api import ApiClient
from device.api_errors import TransferAborted, UrlExpired
from device.api_replies import Recording, UploadUrl
from device.errors import RecorderError
from device.gate import ALLOW_ALL, UploadGate
from device.retry import GiveUp, RetryPolicy
from device.transfer import ProgressFn, PutResult, put_file

log = logging.getLogger(__name__)
T = TypeVar("T")


class InvalidMedia(RecorderError, ValueError):
    """A file cannot be uploaded as given (missing, wrong type or content type); nothing was sent."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class MediaFile:
    """A local file ready to upload: its media type, content type, size and capture time."""

    path: Path
    type: str
    content_type: str
    size: int
    captured_at: datetime


def describe_file(
    path: str | Path,
    media_type: str,
    content_type: str | None = None,
    captured_at: datetime | None = None,
) -> MediaFile:
    """Check locally, before any network, that the file can go up as given."""
    path = Path(path)
    allowed = contract.MEDIA_CONTENT_TYPES.get(media_type)
    if allowed is None:
        raise InvalidMedia(
            str(path),
            f"unknown media type {media_type!r} (allowed: {', '.join(contract.MEDIA_CONTENT_TYPES)})",
        )
    content_type = content_type or contract.DEFAULT_CONTENT_TYPE[media_type]
    if content_type not in allowed:
        raise InvalidMedia(
            str(path),
            f"content type {content_type!r} is not allowed for {media_type} (allowed: {', '.join(allowed)})",
        )
    try:
        st = path.stat()
    except OSError as exc:
        raise InvalidMedia(str(path), f"cannot read: {exc.strerror}") from None
    if not path.is_file():
        raise InvalidMedia(str(path), "not a regular file")
    when = captured_at or datetime.fromtimestamp(st.st_mtime, UTC)
    return MediaFile(path, media_type, content_type, st.st_size, when)


@dataclass(frozen=True)
class TransferSettings:
    """How PUTs are made: chunking, rate cap, timeouts, TLS trust, local address."""

    chunk_size: int = 256 * 1024
    rate_limit_kbps: int = 0
    connect_timeout_s: float = 10.0
    put_timeout_s: float = 60.0
    ca_bundle: str | None = None
    source_address: str | None = None

    @classmethod
    def from_config(cls, config: Any) -> TransferSettings:
        up, api = config.upload, config.api
        return cls(
            chunk_size=up.chunk_kib * 1024,
            rate_limit_kbps=up.rate_limit_kbps,
            connect_timeout_s=api.connect_timeout_s,
            put_timeout_s=up.put_timeout_s,
            ca_bundle=api.ca_bundle or None,
        )


def new_idempotency_key() -> str:
    """A fresh key; store it before the first attempt, reuse it only to retry the same request."""
    return f"rec-{uuid.uuid4().hex}"


def url_fresh(url: UploadUrl, server_now: datetime, margin_s: float) -> bool:
    """True while the URL has more than `margin_s` left, judged in server time."""
    return (url.expires_at - server_now).total_seconds() > margin_s


def put_media(
    url: UploadUrl,
    media: MediaFile,
    settings: TransferSettings,
    *,
    gate: UploadGate = ALLOW_ALL,
    progress: ProgressFn | None = None,
) -> PutResult:
    """One PUT of the file, if the gate allows it; the gate may stop it between chunks."""
    decision = gate.before_file(media.size)
    if not decision.allowed:
        raise TransferAborted(decision.reason, 0, decision.retry_after_s)
    return put_file(
        url.upload_url,
        url.headers,
        media.path,
        chunk_size=settings.chunk_size,
        rate_limit_kbps=settings.rate_limit_kbps,
        progress=progress,
        should_continue=gate.between_chunks,
        timeout=(settings.connect_timeout_s, settings.put_timeout_s),
        ca_bundle=settings.ca_bundle,
        source_address=decision.source_address or settings.source_address,
    )


class Retrier:
    """Repeats a step while the policy allows; sleeps through `sleep` (injectable)."""

    def __init__(self, policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> None:
        self.policy = policy
        self.sleep = sleep

    def failed(self, what: str, error: RecorderError) -> None:
        """Account one failure: sleep the policy's delay, or raise GiveUp."""
        self.policy, delay = self.policy.next(error)
        log.warning(
            "%s failed (%s); retry %d in %.1f s", what, error, len(self.policy.history), delay
        )
        if delay > 0:
            self.sleep(delay)

    def call(self, what: str, step: Callable[[], T]) -> T:
        self.policy = self.policy.reset()
        while True:
            try:
                return step()
            except RecorderError as error:
                self.failed(what, error)


def create_recording(api: ApiClient, retrier: Retrier, media: MediaFile) -> Recording:
    key = new_idempotency_key()
    return retrier.call(
        "create recording",
        lambda: api.create_recording(
            started_at=media.captured_at, ended_at=media.captured_at, idempotency_key=key
        ),
    )


def request_url(api: ApiClient, retrier: Retrier, recording_id: str, media: MediaFile) -> UploadUrl:
    key = new_idempotency_key()
    return retrier.call(
        "get upload URL",
        lambda: api.get_upload_url(
            recording_id,
            type=media.type,
            content_type=media.content_type,
            file_size_bytes=media.size,
            captured_at=media.captured_at,
            idempotency_key=key,
        ),
    )


def send_file(
    api: ApiClient,
    retrier: Retrier,
    recording_id: str,
    media: MediaFile,
    settings: TransferSettings,
    *,
    margin_s: float,
    gate: UploadGate = ALLOW_ALL,
    progress: ProgressFn | None = None,
) -> tuple[UploadUrl, PutResult]:
    """URL then PUT, retried; a URL expired or too close to expiry is renewed (new key)."""
    url: UploadUrl | None = None
    put_policy = retrier.policy.reset()
    while True:
        # A URL just issued is used even if short-lived; one kept over a failure is checked.
        if url is None:
            url = request_url(api, retrier, recording_id, media)
        try:
            return url, put_media(url, media, settings, gate=gate, progress=progress)
        except TransferAborted:
            raise
        except RecorderError as error:
            retrier.policy = put_policy
            retrier.failed(f"PUT {media.path.name}", error)
            put_policy = retrier.policy
            if isinstance(error, UrlExpired):
                url = None
            elif url is not None and not url_fresh(url, api.server_now(), margin_s):
                log.info("upload URL for %s is near expiry; asking for a new one", media.path.name)
                url = None


def complete(api: ApiClient, retrier: Retrier, recording_id: str) -> Recording:
    key = new_idempotency_key()
    return retrier.call(
        "complete recording", lambda: api.complete(recording_id, idempotency_key=key)
    )


def upload_file(
    api: ApiClient,
    media: MediaFile,
    settings: TransferSettings,
    policy: RetryPolicy,
    *,
    margin_s: float = 300.0,
    gate: UploadGate = ALLOW_ALL,
    sleep: Callable[[float], None] = time.sleep,
    progress: ProgressFn | None = None,
) -> Recording:
    """The whole path for one file as its own recording; returns the completed recording.

    Raises GiveUp (chained to the last error) when a step fails in a way retrying cannot fix.
    """
    retrier = Retrier(policy, sleep)
    recording = create_recording(api, retrier, media)
    log.info("recording %s created for %s", recording.id, media.path)
    url, result = send_file(
        api, retrier, recording.id, media, settings, margin_s=margin_s, gate=gate, progress=progress
    )
    log.info("media %s: %d bytes sent in %.2f s", url.media_id, result.bytes_sent, result.seconds)
    return complete(api, retrier, recording.id)


__all__ = [
    "GiveUp",
    "InvalidMedia",
    "MediaFile",
    "Retrier",
    "TransferSettings",
    "complete",
    "create_recording",
    "describe_file",
    "new_idempotency_key",
    "put_media",
    "request_url",
    "send_file",
    "upload_file",
    "url_fresh",
]

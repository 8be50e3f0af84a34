"""Presigned S3 PUT URLs (AWS SigV4 query signature, botocore), like the real service hands out.

`Content-Type` is always signed, and `Content-Length` too when the size was announced, so S3
refuses a PUT with another type, another length, or a chunked body (no Content-Length).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from botocore.auth import SIGV4_TIMESTAMP, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tools.bench_backend.s3 import REGION, S3Credentials


@dataclass(frozen=True)
class PresignedPut:
    url: str
    headers: dict[str, str]
    expires_at: datetime


class _TimedQueryAuth(S3SigV4QueryAuth):
    """SigV4 query auth with a chosen signing time (a past time makes an already expired URL)."""

    def __init__(self, credentials: Credentials, expires: int, signed_at: datetime) -> None:
        super().__init__(credentials, "s3", REGION, expires=expires)
        self._signed_at = signed_at

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self._signed_at.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


def presign_put(
    creds: S3Credentials,
    base_url: str,
    key: str,
    content_type: str,
    size: int | None,
    ttl_seconds: int,
    signed_at: datetime | None = None,
) -> PresignedPut:
    """Sign a PUT of `key` in the bucket at `base_url` (scheme://host:port the client will use)."""
    signed_at = (signed_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    headers = {"Content-Type": content_type}
    if size is not None:
        headers["Content-Length"] = str(size)
    url = f"{base_url}/{creds.bucket}/{quote(key, safe='/')}"
    request = AWSRequest(method="PUT", url=url, headers=dict(headers))
    botocore_creds = Credentials(creds.access_key, creds.secret_key)
    _TimedQueryAuth(botocore_creds, ttl_seconds, signed_at).add_auth(request)
    return PresignedPut(request.url, headers, signed_at + timedelta(seconds=ttl_seconds))

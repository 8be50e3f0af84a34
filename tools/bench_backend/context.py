"""The pieces every handler uses, wired once at start."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from tools.bench_backend.faults import FaultPlan
from tools.bench_backend.idempotency import IdempotencyStore
from tools.bench_backend.ratelimit import RateLimiter
from tools.bench_backend.s3 import S3Credentials
from tools.bench_backend.store import Store


@dataclass
class Backend:
    """Shared state and settings of one running bench backend."""

    store: Store
    faults: FaultPlan
    limiter: RateLimiter
    idempotency: IdempotencyStore
    s3_credentials: S3Credentials
    s3_client: Any  # boto3 S3 client straight to SeaweedFS (HEAD on complete)
    upload_base_url: str  # scheme://host:port the device PUTs to (the fault proxy or SeaweedFS)
    url_ttl_seconds: int
    s3_direct: bool = False
    grant_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

"""One running bench backend: SeaweedFS, the S3 fault proxy and the API server, started and
stopped together."""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.bench_backend.app import ApiServer
from tools.bench_backend.context import Backend
from tools.bench_backend.faults import FaultPlan, FaultRule
from tools.bench_backend.idempotency import IdempotencyStore
from tools.bench_backend.ratelimit import RateLimiter, RateLimitPolicy
from tools.bench_backend.s3 import SeaweedServer
from tools.bench_backend.s3proxy import S3FaultProxy
from tools.bench_backend.store import Store
from tools.bench_backend.tls import BenchPki, make_pki

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    data_dir: Path
    port: int = 0
    tls: bool = False
    faults: list[FaultRule] = field(default_factory=list)
    url_ttl_seconds: int = 3600
    rate_window_seconds: float = 60.0
    s3_direct: bool = False


class BenchServer:
    """start() brings everything up (SeaweedFS ready, bucket made); stop() takes it all down."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.pki: BenchPki | None = None
        self.s3: SeaweedServer | None = None
        self.proxy: S3FaultProxy | None = None
        self.api: ApiServer | None = None
        self.backend: Backend | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        opts = self.options
        opts.data_dir.mkdir(parents=True, exist_ok=True)
        if opts.tls:
            self.pki = make_pki(opts.data_dir)
        tls_files = (self.pki.cert_file, self.pki.key_file) if self.pki and opts.s3_direct else None
        self.s3 = SeaweedServer(opts.data_dir / "s3", tls_files=tls_files)
        self.s3.start()
        store = Store()
        faults = FaultPlan(opts.faults)
        ssl_context = self.pki.server_context() if self.pki else None
        upload_base = self.s3.https_endpoint or self.s3.endpoint
        if not opts.s3_direct:
            upstream = ("127.0.0.1", self.s3.ports["s3"])
            self.proxy = S3FaultProxy(upstream, faults, _recorder(store), ssl_context)
            self.proxy.start()
            upload_base = self.proxy.url
        self.backend = Backend(
            store=store,
            faults=faults,
            limiter=RateLimiter(RateLimitPolicy(window_seconds=opts.rate_window_seconds)),
            idempotency=IdempotencyStore(),
            s3_credentials=self.s3.credentials,
            s3_client=self.s3.client(),
            upload_base_url=upload_base,
            url_ttl_seconds=opts.url_ttl_seconds,
            s3_direct=opts.s3_direct,
        )
        self.api = ApiServer(self.backend, opts.port, ssl_context)
        self._thread = threading.Thread(
            target=self.api.serve_forever, args=(0.1,), name="api", daemon=True
        )
        self._thread.start()

    @property
    def root_url(self) -> str:
        assert self.api is not None
        scheme = "https" if self.pki else "http"
        return f"{scheme}://127.0.0.1:{self.api.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    def details(self) -> dict[str, Any]:
        assert self.s3 is not None and self.backend is not None
        return {
            "api": self.base_url,
            "admin": self.root_url + "/_admin",
            "s3_endpoint": self.backend.upload_base_url,
            "s3_upstream": self.s3.endpoint,
            "s3_direct": self.options.s3_direct,
            "bucket": self.s3.credentials.bucket,
            "ca_file": str(self.pki.ca_file) if self.pki else None,
            "s3_pid": self.s3.pid,
            "s3_ports": self.s3.ports,
            "s3_start_seconds": round(self.s3.start_seconds or 0.0, 3),
            "data_dir": str(self.options.data_dir),
            "pid": os.getpid(),
        }

    def stop(self) -> None:
        """Stop serving, save the state to <data>/state.json, stop SeaweedFS."""
        if self.api is not None:
            self.api.shutdown()
            self.api.server_close()
            self.api = None
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        if self.backend is not None:
            self._save_state()
        if self.s3 is not None:
            self.s3.stop()
            self.s3 = None

    def _save_state(self) -> None:
        assert self.backend is not None
        path = self.options.data_dir / "state.json"
        try:
            with self.backend.store.lock:
                snapshot = self.backend.store.snapshot()
            snapshot["faults_served"] = self.backend.faults.served_for(None)
            path.write_text(json.dumps(snapshot, indent=1))
        except OSError as exc:
            log.error("could not save state to %s: %s", path, exc)


def _recorder(store: Store):  # noqa: ANN202 - callback
    def record(entry: dict[str, Any]) -> None:
        with store.lock:
            store.s3_requests.append(entry)

    return record

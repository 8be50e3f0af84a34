"""Helpers of the upload benchmark: a bench backend, test files, each tool run under /usr/bin/time."""

from __future__ import annotations

import json
import os
import re
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
from device.spool.files import md5_of
from device.vault import FileKeyProvider, Vault
from tools.bench_backend import launch

CONTENT_TYPE = "audio/ogg"


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


@contextmanager
def bench_backend(data: Path, tls: bool, *extra: str) -> Iterator[Backend]:
    """Start `bench-backend` (its own process group) with a provisioned device; stop it after."""
    launched = launch.start(data, *(["--tls"] if tls else []), *extra)
    try:
        ca_file = launched.details.get("ca_file")
        session = requests.Session()
        session.trust_env = False
        session.verify = ca_file or True
        root = launched.base_url.rsplit("/v1", 1)[0]
        reply = session.post(root + "/_admin/devices", json={"project": "bench"}, timeout=30)
        reply.raise_for_status()
        device = reply.json()
        config = _config(data, launched.base_url, ca_file, device)
        yield Backend(launched.base_url, ca_file, device["device_token"], config)
    finally:
        launched.stop()


def _config(data: Path, base_url: str, ca_file: str | None, device: dict) -> Path:
    token_file, key_file = data / "token.sealed", data / "vault.key"
    Vault(token_file, FileKeyProvider(key_file)).seal(device["device_token"], device.get("id"))
    path = data / "recorder.toml"
    path.write_text(
        "[api]\n"
        f'base_url = "{base_url}"\ntoken_file = "{token_file}"\nkey_file = "{key_file}"\n'
        f'ca_bundle = "{ca_file or ""}"\nread_timeout_s = 600.0\n'
        "[upload]\nchunk_kib = 256\nput_timeout_s = 600.0\n"
        f'[spool]\ndir = "{data / "spool"}"\nmax_mb = 8192\n'
    )
    return path


def timed(cmd: list[str]) -> tuple[str, str, int, float, float]:
    """Run to the end: (stdout, stderr, peak RSS KiB, user+sys CPU s, wall s), from wait4()."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {stderr[-800:]}")
    return stdout, stderr, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, wall


def run_tool(tool: str, backend: Backend, path: Path) -> ToolRun:
    tools = {
        "recorder": _recorder,
        "put_file": _put_file,
        "put_file-md5-known": _put_file_md5_known,
        "curl": _curl,
        "requests-read-all": _requests,
    }
    return tools[tool](backend, path)


def _recorder(backend: Backend, path: Path) -> ToolRun:
    cmd = [
        sys.executable,
        "-m",
        "device.cli",
        "--config",
        str(backend.config),
        "--log-level",
        "DEBUG",
        "upload",
        str(path),
        "--type",
        "audio",
        "--content-type",
        CONTENT_TYPE,
    ]
    out, err, peak, cpu, wall = timed(cmd)
    match = re.search(r"PUT \S+: \d+ bytes in ([0-9.]+) s", err)
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
    return _run_script(_READ_ALL, backend, path)


def _run_script(script: str, backend: Backend, path: Path, *extra: str) -> ToolRun:
    """Run a Python snippet that PUTs `path` to a fresh presigned URL and prints its seconds."""
    url, headers = _presigned(backend, path)
    cmd = [
        sys.executable,
        "-c",
        script,
        url,
        str(path),
        json.dumps(headers),
        backend.ca_file or "",
        *extra,
    ]
    out, _, peak, cpu, wall = timed(cmd)
    return ToolRun(peak, cpu, wall, float(out.strip().splitlines()[-1]))


_PUT_FILE = """
import json, sys
from device.transfer import put_file
url, path, headers, ca = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] or None
known = sys.argv[5] if len(sys.argv) > 5 else None
print(put_file(url, headers, path, chunk_size=256 * 1024, timeout=(10, 600), ca_bundle=ca,
               known_md5=known).seconds)
"""


def _put_file_md5_known(backend: Backend, path: Path) -> ToolRun:
    """put_file as the uploader calls it: the spool's MD5 is known, so the body is not hashed
    (the ETag is checked against it); the MD5 is computed here, outside the measured process."""
    return _run_script(_PUT_FILE, backend, path, md5_of(path))


def _put_file(backend: Backend, path: Path) -> ToolRun:
    """device.transfer.put_file alone: the PUT of `recorder upload` without spool and API work."""
    return _run_script(_PUT_FILE, backend, path)

"""`recorder provision` + `recorder upload` end to end against the real backend, as subprocesses.

Also: with DEBUG logging for every logger, neither the token nor any X-Amz-Signature value shows
up in a log line or an error.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

SIGNATURE = re.compile(r"X-Amz-Signature=(?!\*\*\*)[0-9a-fA-F]{8,}")
FAST_ENV = {
    "RECORDER_UPLOAD_RETRY_BASE_S": "0.01",
    "RECORDER_UPLOAD_RETRY_MAX_S": "0.05",
    "RECORDER_UPLOAD_RETRY_AFTER_CAP_S": "0.2",
}


def recorder(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **FAST_ENV}
    return subprocess.run(
        [sys.executable, "-m", "device.cli", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def provisioned(server, tmp_path: Path, config_file):
    device = server.new_device(project=f"upload-cli-{uuid.uuid4().hex[:12]}")
    cfg = config_file(
        {
            "api": {
                "base_url": server.base_url,
                "ca_bundle": server.ca_file or "",
                "token_file": str(tmp_path / "token.sealed"),
                "key_file": str(tmp_path / "keys" / "vault.key"),
            },
            "spool": {"dir": str(tmp_path / "spool")},
            "upload": {"chunk_kib": 64},
        }
    )
    done = recorder(cfg, "provision", "--device-id", device.id, stdin=device.token)
    assert done.returncode == 0, done.stderr
    return cfg, device


def assert_no_secret(text: str, token: str) -> None:
    assert token not in text
    assert token.split("_", 1)[-1] not in text
    assert not SIGNATURE.search(text), SIGNATURE.search(text)


def test_upload_over_https_with_faults_at_debug_leaks_no_secret(tls_backend, tmp_path, config_file):
    cfg, device = provisioned(tls_backend, tmp_path, config_file)
    path = tmp_path / "photo.png"
    path.write_bytes(os.urandom(200_000))
    rules = [
        {"endpoint": "upload_url", "calls": [1], "kind": "expired_url"},
        {"endpoint": "s3_put", "calls": [2], "kind": "cut_put", "after_bytes": 50_000},
        {"endpoint": "complete", "calls": [1], "kind": "status", "status": 503},
    ]
    tls_backend.set_faults([{**rule, "device": device.id} for rule in rules])
    try:
        done = recorder(
            cfg,
            "--log-level",
            "DEBUG",
            "upload",
            str(path),
            "--type",
            "image",
            "--content-type",
            "image/png",
            "--captured-at",
            "2026-12-04T10:00:00.000Z",
        )
    finally:
        tls_backend.clear_faults()
    assert done.returncode == 0, done.stderr[-3000:]
    rec = json.loads(done.stdout)
    assert rec["id"].startswith("rec_") and rec["status"] != "pending"
    assert rec["started_at"].startswith("2026-12-04T10:00:00")
    assert "urllib3" in done.stderr and "DEBUG" in done.stderr  # DEBUG really was on
    assert "expired" in done.stderr.lower()
    assert_no_secret(done.stdout + done.stderr, device.token)


def test_failed_upload_error_text_leaks_no_secret(backend, tmp_path, config_file):
    """A 400 on the upload URL parks the upload: exit 2, the reason printed, the file kept."""
    cfg, device = provisioned(backend, tmp_path, config_file)
    path = tmp_path / "seg.opus"
    path.write_bytes(os.urandom(1000))
    before = path.read_bytes()
    rule = {"endpoint": "upload_url", "every": True, "kind": "status", "status": 400}
    backend.set_faults([{**rule, "device": device.id}])
    try:
        done = recorder(cfg, "--log-level", "DEBUG", "upload", str(path), "--type", "audio")
    finally:
        backend.clear_faults()
    assert done.returncode == 2, done.stderr[-2000:]
    assert "recorder: error:" in done.stderr and "400" in done.stderr
    assert path.read_bytes() == before
    assert_no_secret(done.stdout + done.stderr, device.token)


def test_wrong_content_type_refused_by_the_cli_before_any_network(backend, tmp_path, config_file):
    cfg, device = provisioned(backend, tmp_path, config_file)
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\0" * 100)
    done = recorder(cfg, "upload", str(path), "--type", "audio", "--content-type", "video/mp4")
    assert done.returncode == 2
    assert "content type 'video/mp4' is not allowed for audio" in done.stderr
    assert backend.state(device.id)["calls_by_device"].get(device.id, {}) == {}
    assert path.read_bytes() == b"\0" * 100

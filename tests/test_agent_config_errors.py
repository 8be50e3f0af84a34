"""`recorder run` with a bad config: the message names the key and the file, and the exit is non-zero."""

from __future__ import annotations

import subprocess
import sys


def _run(config_path, *extra, env=None):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "device.cli",
            "--config",
            str(config_path),
            "run",
            "--duration",
            "1",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_out_of_range_value_names_key_and_file(config_file):
    path = config_file(
        {"api": {"base_url": "http://127.0.0.1:1/v1"}, "heartbeat": {"interval_seconds": -5}}
    )
    proc = _run(path)
    assert proc.returncode != 0
    assert "heartbeat.interval_seconds" in proc.stderr and str(path) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_schedule_names_the_key(config_file, tmp_path):
    path = config_file(
        {
            "api": {"base_url": "http://127.0.0.1:1/v1"},
            "spool": {"dir": str(tmp_path / "spool")},
            "agent": {"schedule": "8am"},
        }
    )
    proc = _run(path)
    assert proc.returncode != 0
    assert "agent.schedule" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_config_file(tmp_path):
    proc = _run(tmp_path / "nope.toml")
    assert proc.returncode != 0 and "config file not found" in proc.stderr

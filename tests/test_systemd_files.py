"""The systemd unit, sysusers and tmpfiles snippets: required settings, and `systemd-analyze verify`."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

SYSTEMD = Path(__file__).resolve().parent.parent / "tools" / "systemd"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(SYSTEMD / "recorder.service")
    return parser


def test_unit_is_notify_with_watchdog_and_restart():
    svc = _unit()["Service"]
    assert svc["Type"] == "notify"
    assert int(svc["WatchdogSec"]) > 0
    assert svc["Restart"] == "on-failure"
    assert svc["User"] == "recorder"
    assert set(svc["SupplementaryGroups"].split()) == {"dialout", "audio", "video"}
    assert svc["StateDirectory"] == "recorder"
    assert "--config /etc/recorder/config.toml run" in svc["ExecStart"]


def test_sysusers_and_tmpfiles():
    sysusers = (SYSTEMD / "recorder.sysusers").read_text()
    for group in ("dialout", "audio", "video"):
        assert f"m recorder {group}" in sysusers
    tmpfiles = (SYSTEMD / "recorder.tmpfiles").read_text()
    assert "d /var/lib/recorder " in tmpfiles and "d /etc/recorder " in tmpfiles


def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is needed to verify the unit (package systemd)"
    text = (SYSTEMD / "recorder.service").read_text()
    text = text.replace("/usr/bin/recorder", shutil.which("true") or "/bin/true")
    unit = tmp_path / "recorder.service"
    unit.write_text(text)
    proc = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in proc.stderr.splitlines() if "recorder.service" in line]
    assert proc.returncode == 0 and not problems, proc.stderr

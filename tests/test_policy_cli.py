"""`recorder policy status` as a separate process reading sim link and battery files; the modem mapping."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

from device.cli import main
from device.policy.cellular import cellular_state
from hal.net.sim import SimNet
from hal.power.sim import SimPower


def run_status(config, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "device.cli", "--config", str(config), "policy", "status", *extra],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_policy_status_reports_links_battery_and_decision(tmp_path, config_file, capsys) -> None:
    SimNet(tmp_path / "links.json").update(
        "wlan0", kind="wifi", addresses=["127.0.0.2"], ssid="lab"
    )
    SimPower(tmp_path / "power.json").set_battery(capacity_percent=9, status="discharging")
    config = config_file(
        {
            "spool": {"dir": str(tmp_path / "spool")},
            "upload": {"mode": "wifi_only", "pause_below_battery_percent": 10},
            "net": {"backend": "sim", "sim_file": str(tmp_path / "links.json")},
            "power": {"backend": "sim", "sim_file": str(tmp_path / "power.json")},
        }
    )
    proc = run_status(config, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["links"]["wifi"]["ssid"] == "lab"
    assert report["now"]["reason"] == "battery low (9% < 10%, not charging)"
    assert report["storage"]["total_bytes"] > 0
    SimPower(tmp_path / "power.json").set_battery(status="charging")
    assert main(["--config", str(config), "policy", "status"]) == 0  # in-process: faster
    text = capsys.readouterr().out
    assert "mode wifi_only: uploads allowed over wlan0" in text and "battery: 9% charging" in text


def test_policy_status_names_a_broken_sim_file(tmp_path, config_file, capsys, caplog) -> None:
    (tmp_path / "links.json").write_text("{not json")
    config = config_file(
        {
            "spool": {"dir": str(tmp_path / "spool")},
            "net": {
                "backend": "sim",
                "sim_file": str(tmp_path / "links.json"),
                "wifi_interface": "w",
            },
            "power": {"backend": "sim", "sim_file": str(tmp_path / "none.json")},
        }
    )
    proc = run_status(config)
    assert proc.returncode == 0  # unreadable inputs pause uploads; they do not crash the agent
    assert "paused: no wifi link" in proc.stdout
    assert (
        "links.json: unreadable" in proc.stderr and "none.json: state file not found" in proc.stderr
    )


def test_modem_status_maps_to_cellular_state() -> None:
    status = SimpleNamespace(registration="roaming", data_session="up", signal_dbm=-97)
    state = cellular_state(status)
    assert (state.registration, state.data_up, state.signal_dbm) == ("roaming", True, -97)
    assert cellular_state(SimpleNamespace(registration="emergency")).registration == "unknown"

"""`recorder modem status` and `fake-modem` as a user runs them: real processes, a real pty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.modem import DESIGN_STATUS_FIELDS, FAST


def recorder(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "device.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
    )


def fast_env() -> dict[str, str]:
    return {f"RECORDER_MODEM_{k.upper()}": str(v) for k, v in FAST.items()}


def test_status_json_with_only_a_port(fake_modem_process, tmp_path: Path) -> None:
    """A hardware engineer with nothing but the port: no config file needed."""
    port = fake_modem_process("roaming")
    done = recorder(
        "--config",
        str(tmp_path / "absent.toml"),
        "modem",
        "status",
        "--json",
        "--port",
        port,
        env=fast_env(),
    )
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    for key in DESIGN_STATUS_FIELDS:
        assert key in status
    assert status["sim"] == "ready" and status["imei"] == "866425030123456"
    assert status["registration"] in ("roaming", "searching")  # 0.2 s into its timeline


def test_status_from_config_human_output(fake_modem_process, config_file) -> None:
    port = fake_modem_process("sim_absent")
    cfg = config_file({"modem": {"port": port, **FAST}})
    done = recorder("--config", str(cfg), "modem", "status")
    assert done.returncode == 0, done.stderr
    assert "sim                absent" in done.stdout
    assert "signal_dbm         -73" in done.stdout


def test_status_without_a_modem_says_what_is_missing(config_file, tmp_path: Path) -> None:
    cfg = config_file({"api": {"base_url": "https://x.invalid"}})
    done = recorder("--config", str(cfg), "modem", "status")
    assert done.returncode == 2 and "modem.port" in done.stderr
    gone = recorder(
        "--config", str(cfg), "modem", "status", "--port", str(tmp_path / "ttyNONE"), env=fast_env()
    )
    assert gone.returncode == 1 and "ttyNONE" in gone.stderr


def test_bad_apn_table_names_the_key(config_file, tmp_path: Path) -> None:
    cfg = config_file({"modem": {"port": str(tmp_path / "p"), "apn_table": "telekom"}})
    done = recorder("--config", str(cfg), "modem", "status")
    assert done.returncode == 2 and "apn_table" in done.stderr and "telekom" in done.stderr


def test_fake_modem_lists_scenarios_and_rejects_unknown() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "tools.fake_modem.cli", "--list"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    names = {line.split()[0] for line in listed.stdout.splitlines()}
    assert {
        "normal",
        "roaming",
        "sim_absent",
        "pin_required",
        "searching",
        "denied",
        "no_signal",
        "pdp_deact",
        "reboot",
        "garbage",
        "slow",
        "hang",
        "echo_on",
        "port_vanish",
        "roaming_to_home",
    } <= names
    bad = subprocess.run(
        [sys.executable, "-m", "tools.fake_modem.cli", "--scenario", "nope"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "nope" in bad.stderr and "normal" in bad.stderr


@pytest.mark.parametrize(
    "text,needle",
    [
        ('[sim]\nstate = "lost"\n', "sim.state"),
        ("[faults]\nexplode = true\n", "faults.explode"),
        ("[[registration]]\nstat = 1\n", "registration[0]"),
    ],
)
def test_scenario_errors_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    from tools.fake_modem import scenario

    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(scenario.ScenarioError) as info:
        scenario.load(str(path))
    assert needle in str(info.value) and str(path) in str(info.value)


def test_status_connect_brings_data_up(fake_modem_process, config_file) -> None:
    port = fake_modem_process("normal")
    cfg = config_file({"modem": {"port": port, "apn": "internet", "data_path": "sim", **FAST}})
    done = recorder("--config", str(cfg), "modem", "status", "--json", "--connect")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["registration"] == "home"  # --connect waited out the 0.2 s search
    assert status["data_session"] == "up" and status["data_address"] == "10.64.12.7"
    assert status["data_interface"] == "sim0"


def test_watch_prints_events_as_json_lines(fake_modem_process, tmp_path: Path) -> None:
    port = fake_modem_process("roaming")
    done = recorder("--config", str(tmp_path / "none.toml"), "modem", "watch", "--port", port,
                    "--duration", "1.5", env=fast_env())
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert "roaming" in [e["event"] for e in events]
    assert all(e["imei"] == "866425030123456" for e in events if e["event"] == "roaming")

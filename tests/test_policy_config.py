"""Config keys of the upload policy, links and power: formats a range cannot say, with clear errors."""

from __future__ import annotations

import pytest

from device import config as cfg
from device.policy import UploadPolicy

API = {"base_url": "http://127.0.0.1:9/v1"}


@pytest.mark.parametrize("value", ["24:00", "7:30", "07:60", "0730", "noon", " 07:30"])
def test_off_peak_time_must_be_hhmm(config_file, value: str) -> None:
    path = config_file({"api": API, "upload": {"off_peak_start": value, "off_peak_end": "06:00"}})
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load(path)
    assert err.value.key == "upload.off_peak_start"
    assert str(path) in str(err.value) and "HH:MM" in str(err.value)


def test_timezone_must_be_an_iana_zone(config_file) -> None:
    path = config_file({"api": API, "upload": {"timezone": "Mars/Olympus"}})
    with pytest.raises(
        cfg.ConfigError, match=r"upload\.timezone: 'Mars/Olympus' is not a known IANA"
    ):
        cfg.load(path)


def test_timezone_from_environment_is_checked_too(config_file) -> None:
    path = config_file({"api": API})
    with pytest.raises(cfg.ConfigError, match="RECORDER_UPLOAD_TIMEZONE: upload.timezone"):
        cfg.load(path, env={"RECORDER_UPLOAD_TIMEZONE": "../../etc/passwd"})


def test_window_needs_both_ends(config_file) -> None:
    with pytest.raises(
        cfg.ConfigError, match="upload.off_peak_start: the off-peak window needs both"
    ):
        cfg.load(config_file({"api": API, "upload": {"off_peak_end": "06:00"}}))


def test_valid_policy_keys_build_a_policy(config_file) -> None:
    upload = {
        "mode": "4g_preferred",
        "allow_roaming": True,
        "daily_cellular_mb": 50,
        "pause_below_battery_percent": 25,
        "off_peak_start": "23:30",
        "off_peak_end": "05:00",
        "timezone": "Europe/Berlin",
    }
    path = config_file(
        {
            "api": API,
            "upload": upload,
            "net": {"backend": "sim", "sim_file": "x"},
            "power": {"backend": "sim"},
        }
    )
    conf = cfg.load(path).config
    policy = UploadPolicy.from_config(conf.upload)
    assert policy.window is not None and policy.window.describe() == "23:30-05:00 Europe/Berlin"
    assert policy.daily_cellular_bytes == 50 * 1024 * 1024
    assert conf.net.backend == "sim" and conf.power.backend == "sim"


def test_unknown_backend_is_named(config_file) -> None:
    with pytest.raises(cfg.ConfigError, match="power.backend: 'acpi' is not allowed"):
        cfg.load(config_file({"api": API, "power": {"backend": "acpi"}}))

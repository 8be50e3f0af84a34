"""The config tree: types, ranges, choices, unknown keys, environment overrides, the CLI check."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from device import config as cfg

API = {"base_url": "http://127.0.0.1:9/v1"}


def test_defaults_and_types(config_file):
    result = cfg.load(config_file({"api": API, "upload": {"chunk_kib": 128}}))
    assert result.config.upload.chunk_kib == 128
    assert result.config.audio.segment_seconds == 60.0
    assert result.config.camera.backend == "v4l2"
    assert result.config.has_modem is False
    assert result.warnings == ()


def test_tree_is_immutable(config_file):
    conf = cfg.load(config_file({"api": API})).config
    with pytest.raises(dataclasses.FrozenInstanceError):
        conf.upload.chunk_kib = 1  # type: ignore[misc]
    changed = dataclasses.replace(conf.upload, chunk_kib=64)
    assert changed.chunk_kib == 64 and conf.upload.chunk_kib == 256


def test_out_of_range_names_key_file_and_range(config_file):
    path = config_file({"api": API, "upload": {"chunk_kib": 2048}})
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load(path)
    text = str(err.value)
    assert "upload.chunk_kib" in text and str(path) in text and "64 to 1024" in text


def test_wrong_type_is_named(config_file):
    path = config_file({"api": API, "upload": {"allow_roaming": "yes"}})
    with pytest.raises(cfg.ConfigError, match=r"upload\.allow_roaming: must be bool"):
        cfg.load(path)


def test_bool_is_not_an_int(config_file):
    with pytest.raises(cfg.ConfigError, match="must be int"):
        cfg.load(config_file({"api": API, "spool": {"max_mb": True}}))


def test_choice_lists_what_is_allowed(config_file):
    with pytest.raises(cfg.ConfigError, match="wifi_only"):
        cfg.load(config_file({"api": API, "upload": {"mode": "sometimes"}}))


def test_unknown_keys_warn(config_file):
    path = config_file({"api": {**API, "colour": "blue"}, "future": {"x": 1}})
    result = cfg.load(path)
    assert any("api.colour" in w for w in result.warnings)
    assert any("[future]" in w for w in result.warnings)


def test_env_overrides_file(config_file):
    path = config_file({"api": API, "upload": {"chunk_kib": 128}})
    env = {"RECORDER_UPLOAD_CHUNK_KIB": "512", "RECORDER_UPLOAD_ALLOW_ROAMING": "true"}
    conf = cfg.load(path, env=env).config
    assert conf.upload.chunk_kib == 512 and conf.upload.allow_roaming is True


def test_env_bad_value_names_variable(config_file):
    env = {"RECORDER_UPLOAD_CHUNK_KIB": "lots"}
    with pytest.raises(cfg.ConfigError, match="RECORDER_UPLOAD_CHUNK_KIB"):
        cfg.load(config_file({"api": API}), env=env)


def test_broken_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[api\nbase_url = 1")
    with pytest.raises(cfg.ConfigError, match="not valid TOML"):
        cfg.load(bad)
    with pytest.raises(cfg.ConfigError, match="not found"):
        cfg.load(tmp_path / "absent.toml")


def test_api_base_url_required(config_file):
    with pytest.raises(cfg.ConfigError, match="api.base_url: is required"):
        cfg.load(config_file({"spool": {"max_mb": 10}}))


def test_section_must_be_a_table(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('upload = 3\n[api]\nbase_url = "http://127.0.0.1/v1"\n')
    with pytest.raises(cfg.ConfigError, match="must be a table"):
        cfg.load(path)


def _recorder(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "device.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_cli_config_check(config_file):
    good = config_file({"api": API})
    assert _recorder("--config", str(good), "config", "check").returncode == 0
    unknown = config_file({"api": {**API, "colour": "blue"}})
    res = _recorder("--config", str(unknown), "config", "check")
    assert res.returncode == 1 and "api.colour" in res.stderr
    broken = config_file({"api": API, "audio": {"sample_rate_hz": 44100}})
    res = _recorder("--config", str(broken), "config", "check")
    assert res.returncode == 2 and "audio.sample_rate_hz" in res.stderr and "16000" in res.stderr


def test_every_key_is_described():
    keys = [row[0] for row in cfg.describe()]
    assert "upload.chunk_kib" in keys and "modem.timeout_cops_set_s" in keys
    assert len(keys) == len(set(keys))

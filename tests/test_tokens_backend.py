"""Token rotation end to end against the bench backend (real HTTP, faults injected by the backend):
`recorder token refresh|check|status` as real processes, the rest in-process to stay fast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from device import api, tokens
from device import config as cfg
from device import vault as vault_mod
from device.api_errors import Unauthorized
from device.cli import main
from device.policy import build_gate
from device.retry import GiveUp, RetryPolicy
from device.tokens import TOKEN_LOST
from device.upload_steps import TransferSettings, describe_file, upload_file


def recorder(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "device.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def setup(tmp_path: Path, backend, config_file):
    """A fresh device, its token sealed as `recorder provision` does."""
    dev = backend.new_device()
    path = config_file(
        {
            "api": {
                "base_url": backend.base_url,
                "token_file": str(tmp_path / "token.sealed"),
                "key_file": str(tmp_path / "vault.key"),
            },
            "spool": {"dir": str(tmp_path / "spool")},
        }
    )
    config = cfg.load(path).config
    store = vault_mod.from_config(config.api)
    store.seal(dev.token, device_id=dev.id)
    return path, config, dev, store


def accepted(backend, token: str) -> bool:
    reply = requests.post(
        f"{backend.base_url}/devices/me/heartbeat",
        json={},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return reply.status_code == 200


def upload(config: cfg.Config, store: vault_mod.Vault, media: Path) -> None:
    with api.from_config(config.api, store.token) as client:
        upload_file(
            client,
            describe_file(media, "audio"),
            TransferSettings.from_config(config),
            RetryPolicy.from_config(config.upload),
        )


def test_refresh_rotates_and_the_old_token_is_gone(tmp_path, backend, config_file) -> None:
    path, _, dev, store = setup(tmp_path, backend, config_file)
    proc = recorder(path, "token", "refresh")
    assert proc.returncode == 0 and "token rotated;" in proc.stdout, proc.stderr
    held = store.open()
    assert held.token != dev.token and held.previous is None and held.device_id == dev.id
    assert accepted(backend, held.token) and not accepted(backend, dev.token)
    assert held.token not in proc.stdout + proc.stderr


def test_lost_refresh_reply_reports_token_lost_and_keeps_everything(
    tmp_path, backend, config_file
) -> None:
    """The server rotates, then drops the connection: the new token never arrives."""
    path, config, dev, store = setup(tmp_path, backend, config_file)
    backend.set_faults(
        [{"endpoint": "token_refresh", "calls": [1], "kind": "drop_after_work", "device": dev.id}]
    )
    try:
        proc = recorder(path, "--log-level", "INFO", "token", "refresh")
    finally:
        backend.clear_faults()
    assert proc.returncode == 2, proc.stderr
    assert TOKEN_LOST in proc.stderr and dev.token not in proc.stderr
    assert store.open().token == dev.token  # the sealed file is kept as it was
    status = recorder(path, "token", "status", "--json")
    assert status.returncode == 1 and json.loads(status.stdout)["problem"] == TOKEN_LOST
    media = tmp_path / "a.opus"
    media.write_bytes(b"OggS" + bytes(2000))
    with pytest.raises(GiveUp) as gave_up:
        upload(config, store, media)
    assert isinstance(gave_up.value.error, Unauthorized)
    assert media.stat().st_size == 2004
    # bound again, the new token provisioned: the lost state clears by itself, uploads work
    rebound = backend.admin("POST", f"/_admin/devices/{dev.id}/bind").json()["device_token"]
    store.seal(rebound, device_id=dev.id)
    assert tokens.TokenStateFile(store.path).problem() == ""
    upload(config, store, media)


def test_lost_confirmation_keeps_the_old_token_until_the_new_one_worked(
    tmp_path, backend, config_file
) -> None:
    """The refresh reply arrives; the heartbeat that would confirm the new token loses its reply."""
    path, config, dev, store = setup(tmp_path, backend, config_file)
    backend.set_faults(
        [{"endpoint": "heartbeat", "calls": [1], "kind": "drop_after_work", "device": dev.id}]
    )
    try:
        outcome = tokens.rotator_from_config(config).refresh()
    finally:
        backend.clear_faults()
    assert outcome == "rotated, old kept until the new one works"
    held = store.open()
    assert held.previous == dev.token and held.token != dev.token
    check = recorder(path, "token", "check")  # tries the old (revoked), then the new: keeps it
    assert check.returncode == 0 and "the current one" in check.stdout, check.stderr
    assert store.open().previous is None and store.open().token == held.token


def test_revoked_token_fails_uploads_and_loses_nothing(tmp_path, backend, config_file) -> None:
    _, config, dev, store = setup(tmp_path, backend, config_file)
    backend.admin("POST", f"/_admin/devices/{dev.id}/revoke")
    media = tmp_path / "b.opus"
    media.write_bytes(b"OggS" + bytes(5000))
    with pytest.raises(GiveUp) as gave_up:
        upload(config, store, media)
    assert isinstance(gave_up.value.error, Unauthorized)
    assert media.read_bytes() == b"OggS" + bytes(5000)
    with pytest.raises(tokens.TokenLost, match=TOKEN_LOST):
        tokens.rotator_from_config(config).settle()
    assert tokens.TokenStateFile(store.path).problem() == TOKEN_LOST
    assert not backend.state(dev.id).get("recordings")  # nothing half-made on the server


def test_revoked_token_parks_the_spool_and_loses_nothing(
    tmp_path, backend, config_file, capsys
) -> None:
    """The spool's uploader (recorder enqueue/flush/status, in-process) with a revoked token:
    everything is parked `unauthorized`, every file stays; bound again, all of it goes up."""
    path, config, dev, store = setup(tmp_path, backend, config_file)
    base = ["--config", str(path)]
    for i in range(2):
        media = tmp_path / f"m{i}.opus"
        media.write_bytes(b"OggS" + bytes([i]) * 3000)
        assert main([*base, "enqueue", str(media), "--type", "audio"]) == 0
    backend.admin("POST", f"/_admin/devices/{dev.id}/revoke")
    capsys.readouterr()
    assert main([*base, "flush", "--timeout", "30", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["parked_all"]["reason"] == "unauthorized"
    assert report["pending"]["media"] == 2 and report["pending"]["bytes"] == 2 * 3004
    with pytest.raises(tokens.TokenLost):
        tokens.rotator_from_config(config).settle()
    assert build_gate(config).before_file(3004).reason == TOKEN_LOST  # shown by the agent's status
    rebound = backend.admin("POST", f"/_admin/devices/{dev.id}/bind").json()["device_token"]
    store.seal(rebound, device_id=dev.id)  # recorder provision
    assert main([*base, "flush", "--retry-parked", "--timeout", "60", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pending"]["media"] == 0 and report["parked_count"] == 0
    recordings = backend.state(dev.id)["recordings"].values()
    assert sorted(r["status"] for r in recordings) == [
        "uploaded",
        "uploaded",
    ]  # upload-complete done

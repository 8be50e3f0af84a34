"""`recorder provision`: the token from stdin sealed at `api.token_file`, 0600, never echoed."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from device.vault import FileKeyProvider, Vault

TOKEN = "dtok_provision_test_0123456789"


def run(config: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "device.cli", "--config", str(config), "provision", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_provision_seals_the_token_from_stdin(tmp_path: Path, config_file) -> None:
    token_file, key_file = tmp_path / "state" / "token.sealed", tmp_path / "etc" / "vault.key"
    cfg = config_file(
        {
            "api": {
                "base_url": "http://127.0.0.1:9/v1",
                "token_file": str(token_file),
                "key_file": str(key_file),
            }
        }
    )
    done = run(cfg, TOKEN + "\n", "--device-id", "dev_42")
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = Vault(token_file, FileKeyProvider(key_file)).open()
    assert (sealed.token, sealed.device_id) == (TOKEN, "dev_42")


def test_provision_refuses_empty_or_several_words(tmp_path: Path, config_file) -> None:
    cfg = config_file({"api": {"token_file": str(tmp_path / "t"), "key_file": str(tmp_path / "k")}})
    for text, why in (("", "no token on stdin"), ("dtok_a dtok_b", "more than one word")):
        done = run(cfg, text)
        assert done.returncode == 2 and why in done.stderr
    assert not (tmp_path / "t").exists()

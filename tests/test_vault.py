"""The sealed token: opens only with its key, 0600 files, atomic replace, room for rotation."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from device.vault import FileKeyProvider, KeyMismatch, TokenMissing, Vault, VaultError

TOKEN = "dtok_vaulttest_0123456789abcdef"


def make(tmp_path: Path, name: str = "a") -> Vault:
    return Vault(
        tmp_path / name / "token.sealed", FileKeyProvider(tmp_path / f"{name}-keys" / "vault.key")
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_seal_and_open_round_trip_with_0600_files(tmp_path: Path) -> None:
    vault = make(tmp_path)
    vault.seal(TOKEN, device_id="dev_1")
    opened = vault.open()
    assert (opened.token, opened.device_id, opened.previous) == (TOKEN, "dev_1", None)
    assert mode(vault.path) == 0o600
    assert mode(vault.keys.path) == 0o600  # type: ignore[attr-defined]
    assert TOKEN.encode() not in vault.path.read_bytes()
    assert TOKEN[6:].encode() not in vault.path.read_bytes()
    assert list(vault.path.parent.glob(".*tmp")) == []


def test_copied_token_file_without_its_key_does_not_open(tmp_path: Path) -> None:
    vault = make(tmp_path, "device")
    vault.seal(TOKEN, device_id="dev_1")
    thief = make(tmp_path, "thief")
    thief.path.parent.mkdir(parents=True)
    shutil.copy(vault.path, thief.path)
    with pytest.raises(KeyMismatch, match="copied without its key") as info:
        thief.open()
    assert isinstance(info.value, PermissionError)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)


def test_missing_key_file_when_creation_is_off(tmp_path: Path) -> None:
    vault = make(tmp_path)
    vault.seal(TOKEN)
    locked = Vault(vault.path, FileKeyProvider(tmp_path / "nowhere.key", create=False))
    with pytest.raises(VaultError, match="key file is missing"):
        locked.open()


def test_no_token_yet_says_to_provision(tmp_path: Path) -> None:
    with pytest.raises(TokenMissing, match="recorder provision"):
        make(tmp_path).open()


def test_tampered_file_is_refused(tmp_path: Path) -> None:
    vault = make(tmp_path)
    vault.seal(TOKEN, device_id="dev_1")
    text = vault.path.read_text().replace('"dev_1"', '"dev_2"')
    vault.path.write_text(text)
    with pytest.raises(KeyMismatch):
        vault.open()
    vault.path.write_text("garbage")
    with pytest.raises(VaultError, match="not JSON"):
        vault.open()


def test_rotation_keeps_previous_until_forgotten(tmp_path: Path) -> None:
    vault = make(tmp_path)
    vault.seal(TOKEN, device_id="dev_1")
    vault.seal("dtok_new_token_987654321", keep_previous=True)
    opened = vault.open()
    assert (opened.token, opened.previous, opened.device_id) == (
        "dtok_new_token_987654321",
        TOKEN,
        "dev_1",
    )
    vault.forget_previous()
    assert vault.open().previous is None
    assert vault.token() == "dtok_new_token_987654321"
    assert mode(vault.path) == 0o600


def test_empty_token_refused(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="empty"):
        make(tmp_path).seal("  \n")

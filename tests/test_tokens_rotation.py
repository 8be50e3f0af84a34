"""Token rotation logic over a real sealed vault; the server's token rules played by a small object.

The end-to-end tests against the bench backend are in test_tokens_backend.py; these cover every
branch (reply lost before/after the server rotated, crash between seal and use, both refused)
without a network.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from device.api_errors import ConnectFailed, ReplyLost, Unauthorized
from device.tokens import TOKEN_LOST, RefreshFailed, TokenLost, TokenRotator, TokenStateFile
from device.vault import FileKeyProvider, Vault


class Server:
    """One valid token per device, as the contract says; `lose_reply` drops the next refresh reply."""

    def __init__(self, token: str) -> None:
        self.valid = token
        self.serial = itertools.count(2)
        self.lose_reply_after_work = False
        self.lose_reply_before_work = False
        self.unreachable = False

    def refresh(self, token: str) -> str:
        if self.unreachable:
            raise ConnectFailed("http://api/v1/devices/me/token/refresh", "refused")
        if self.lose_reply_before_work:
            self.lose_reply_before_work = False
            raise ReplyLost("http://api/v1/devices/me/token/refresh", "timed out")
        self.probe(token)
        self.valid = f"dtok_{next(self.serial)}"
        if self.lose_reply_after_work:
            self.lose_reply_after_work = False
            raise ReplyLost("http://api/v1/devices/me/token/refresh", "connection reset")
        return self.valid

    def probe(self, token: str) -> None:
        if token != self.valid:
            raise Unauthorized(401, "unauthorized", "invalid token", "/devices/me/heartbeat")


def rig(tmp_path: Path) -> tuple[TokenRotator, Server, Vault]:
    vault = Vault(tmp_path / "token.sealed", FileKeyProvider(tmp_path / "vault.key"))
    vault.seal("dtok_1", "dev_1")
    server = Server("dtok_1")
    return TokenRotator(vault, server.refresh, server.probe), server, vault


def test_refresh_seals_new_token_and_forgets_old_once_it_worked(tmp_path) -> None:
    rotator, server, vault = rig(tmp_path)
    assert rotator.refresh() == "rotated"
    held = vault.open()
    assert held.token == server.valid == "dtok_2" and held.previous is None
    assert held.device_id == "dev_1"
    assert rotator.state.load().refreshed_at is not None


def test_reply_lost_before_the_server_rotated_keeps_the_old_token(tmp_path) -> None:
    rotator, server, vault = rig(tmp_path)
    server.lose_reply_before_work = True
    with pytest.raises(RefreshFailed, match="reply lost; the old token still works"):
        rotator.refresh()
    assert vault.token() == "dtok_1" and rotator.state.problem() == ""


def test_reply_lost_after_the_server_rotated_is_token_lost(tmp_path) -> None:
    rotator, server, vault = rig(tmp_path)
    server.lose_reply_after_work = True
    with pytest.raises(TokenLost, match=TOKEN_LOST):
        rotator.refresh()
    assert rotator.state.problem() == TOKEN_LOST
    assert vault.token() == "dtok_1"  # nothing deleted: the file is kept for the record
    vault.seal("dtok_rebound")  # the device is bound again and provisioned
    assert rotator.state.problem() == ""


def test_crash_between_seal_and_use_settles_on_the_token_that_works(tmp_path) -> None:
    rotator, server, vault = rig(tmp_path)
    new = server.refresh("dtok_1")
    vault.seal(new, keep_previous=True)  # ... and the agent died before using it
    assert rotator.settle() == "current"
    assert vault.open().previous is None and vault.token() == new
    # the other way round: new sealed, server never rotated (old still the valid one)
    vault.seal("dtok_never_issued", keep_previous=True)
    assert rotator.settle() == "old"
    assert vault.token() == new and vault.open().previous is None


def test_unreachable_server_changes_nothing(tmp_path) -> None:
    rotator, server, vault = rig(tmp_path)
    server.unreachable = True
    with pytest.raises(RefreshFailed, match="not sent"):
        rotator.refresh()
    assert vault.token() == "dtok_1" and vault.open().previous is None


def test_undecidable_check_keeps_both_tokens(tmp_path) -> None:
    rotator, server, vault = rig(tmp_path)
    vault.seal("dtok_x", keep_previous=True)

    def down(token: str) -> None:
        raise ReplyLost("http://api/v1/devices/me/heartbeat", "timed out")

    with pytest.raises(RefreshFailed, match="cannot check the token now"):
        TokenRotator(vault, server.refresh, down).settle()
    held = vault.open()
    assert (held.token, held.previous) == ("dtok_x", "dtok_1")


def test_periodic_refresh_is_due_after_the_configured_days(tmp_path) -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    vault = Vault(tmp_path / "t.sealed", FileKeyProvider(tmp_path / "k"))
    vault.seal("dtok_1")
    rotator = TokenRotator(vault, str, lambda t: None, clock=lambda: now[0])
    assert not rotator.due(0)
    assert not rotator.due(30)  # first sight starts the count
    now[0] += timedelta(days=29)
    assert not rotator.due(30)
    now[0] += timedelta(days=1)
    assert rotator.due(30)


def test_state_file_damage_is_not_fatal(tmp_path) -> None:
    states = TokenStateFile(tmp_path / "token.sealed")
    states.path.write_text("{")
    assert states.load().state == "ok" and states.problem() == ""

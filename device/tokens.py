"""Device token rotation: refresh, seal before use, keep the old token until the new one has worked.

The server revokes the old token as soon as it issues a new one, so the new token is sealed (fsynced)
before anything else, with the old one kept beside it. When the refresh reply is lost, the device
cannot know whether the server rotated: it tries the old token, then the new one if it has it; if
neither works, the token is lost (`token lost: rebind needed`, in status and logs) and every file
stays in the spool until the device is bound again and provisioned with a new token.
The outcome and the time of the last refresh live in `<api.token_file>.state.json`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from device import api, vault
from device.api_errors import ApiError, ConnectFailed, TransportError, Unauthorized
from device.config import Config
from device.errors import RecorderError
from device.vault import Vault

log = logging.getLogger(__name__)

TOKEN_LOST = "token lost: rebind needed"

Refresh = Callable[[str], str]  # current token -> new token (POST /devices/{id}/token/refresh)
Probe = Callable[
    [str], None
]  # raises Unauthorized if the token is refused, TransportError if unknown


class TokenLost(RecorderError, PermissionError):
    """No token the device holds is accepted any more: the device must be bound again."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{TOKEN_LOST} ({detail})")
        self.detail = detail


class RefreshFailed(RecorderError, ConnectionError):
    """The refresh did not happen or could not be settled now; the current token stays in use."""


@dataclass(frozen=True)
class TokenState:
    """What the last rotation left: `ok` or `lost`, when it was refreshed, and which file was lost."""

    state: str = "ok"
    detail: str = ""
    refreshed_at: str | None = None  # ISO 8601 UTC
    lost_file_id: str | None = None  # the token file (inode:mtime) that was found lost


class TokenStateFile:
    """`<token_file>.state.json`, written atomically; a lost state ends when the token file changes."""

    def __init__(self, token_file: str | os.PathLike[str]) -> None:
        self.token_file = Path(token_file)
        self.path = self.token_file.with_name(self.token_file.name + ".state.json")

    def load(self) -> TokenState:
        try:
            return TokenState(**json.loads(self.path.read_text()))
        except FileNotFoundError:
            return TokenState()
        except (OSError, ValueError, TypeError) as exc:
            log.warning("%s unreadable (%s); token state taken as ok", self.path, exc)
            return TokenState()

    def save(self, state: TokenState) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(asdict(state), fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def problem(self) -> str:
        """`token lost: rebind needed` while the lost token file is still the one in place, else ''."""
        state = self.load()
        if state.state != "lost":
            return ""
        return TOKEN_LOST if state.lost_file_id == file_id(self.token_file) else ""


def file_id(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{st.st_ino}:{st.st_mtime_ns}"


class TokenRotator:
    """Refresh the sealed token through `refresh`, verify tokens through `probe`."""

    def __init__(
        self,
        vault: Vault,
        refresh: Refresh,
        probe: Probe,
        state: TokenStateFile | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.vault = vault
        self._refresh = refresh
        self._probe = probe
        self.state = state or TokenStateFile(vault.path)
        self.clock = clock

    def refresh(self) -> str:
        """Rotate now. Returns `rotated` or `rotated, old kept until the new one works`;
        raises RefreshFailed (nothing changed) or TokenLost."""
        old = self.vault.open().token
        try:
            new = self._refresh(old)
        except ConnectFailed as exc:
            raise RefreshFailed(f"token refresh not sent: {exc}") from exc
        except Unauthorized:
            log.warning("token refresh refused (401): checking the tokens held")
            self.settle()
            raise RefreshFailed("token refresh refused; a token that works is in use") from None
        except TransportError as exc:  # sent, reply lost: the server may have rotated
            log.warning("token refresh reply lost (%s): checking the old token", exc)
            self.settle()
            raise RefreshFailed("token refresh reply lost; the old token still works") from exc
        except ApiError as exc:  # an answer without a token: the old one stays valid
            raise RefreshFailed(f"token refresh failed: {exc}") from exc
        self.vault.seal(new, keep_previous=True)  # durable before it is used
        self._save(TokenState("ok", "", self._now()))
        return self._verify_new(new)

    def settle(self) -> str:
        """Find the token that works: the old (previous) one first, then the current one; seal it
        alone. Raises TokenLost when the server refuses both, RefreshFailed when it cannot tell."""
        held = self.vault.open()
        candidates = [t for t in (held.previous, held.token) if t]
        for token in candidates:
            try:
                self._probe(token)
            except Unauthorized:
                continue
            except (TransportError, ApiError) as exc:
                raise RefreshFailed(f"cannot check the token now: {exc}") from exc
            if token != held.token or held.previous:
                self.vault.seal(token, held.device_id)
            self._save(TokenState("ok", "", self.state.load().refreshed_at))
            return "old" if token == held.previous else "current"
        return self._lost(f"{len(candidates)} token(s) held, all refused")

    def due(self, every_days: float) -> bool:
        """Periodic refresh: True when `every_days` (> 0) have passed since the last refresh.
        The first call starts the count (the provisioning time is not known)."""
        if every_days <= 0:
            return False
        state = self.state.load()
        if state.refreshed_at is None:
            self._save(TokenState(state.state, state.detail, self._now(), state.lost_file_id))
            return False
        last = datetime.fromisoformat(state.refreshed_at)
        return self.clock() - last >= timedelta(days=every_days)

    def _verify_new(self, new: str) -> str:
        try:
            self._probe(new)
        except Unauthorized:
            log.error("the new token is refused: checking the old one")
            self.settle()
            return "rotated, but the new token was refused; the old one works"
        except (TransportError, ApiError) as exc:
            log.warning("new token sealed, not yet confirmed (%s); old one kept", exc)
            return "rotated, old kept until the new one works"
        self.vault.forget_previous()
        log.info("device token rotated")
        return "rotated"

    def _lost(self, detail: str) -> str:
        self._save(
            TokenState("lost", detail, self.state.load().refreshed_at, file_id(self.vault.path))
        )
        log.error("%s: %s; files stay in the spool", TOKEN_LOST, detail)
        raise TokenLost(detail)

    def _save(self, state: TokenState) -> None:
        self.state.save(state)

    def _now(self) -> str:
        return (
            self.clock().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )


def rotator_from_config(
    config: Config, on_heartbeat_reply: Callable[[object], None] | None = None
) -> TokenRotator:
    """The rotator for `[api]`: refresh through the API, probe with a minimal heartbeat (the reply,
    which may carry remote commands, goes to `on_heartbeat_reply` so none is dropped)."""
    store = vault.from_config(config.api)
    device_id = config.api.device_id

    def refresh(token: str) -> str:
        with api.from_config(config.api, token) as client:
            return client.refresh_token(store.open().device_id or device_id)

    def probe(token: str) -> None:
        with api.from_config(config.api, token) as client:
            reply = client.heartbeat({}, device_id="me")
        if on_heartbeat_reply is not None:
            on_heartbeat_reply(reply)

    return TokenRotator(store, refresh, probe)

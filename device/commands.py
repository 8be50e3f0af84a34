"""Remote commands from the heartbeat reply: parse, drop expired ones, run each id once, keep results.

The ledger is a small SQLite table (WAL, synchronous=FULL) in the spool directory. A command's row is
written *before* it runs, so a command delivered again (the backend re-sends until it hears the result,
and the agent may have restarted in between) never runs twice; the result stays unreported until a
heartbeat carrying it succeeds.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from device import contract
from device.clock import parse_iso, utc_iso
from device.errors import RecorderError

log = logging.getLogger(__name__)


class CommandError(RecorderError, ValueError):
    """A command object is malformed: names the command id and the field."""

    def __init__(self, command_id: str, problem: str) -> None:
        super().__init__(f"command {command_id or '(no id)'}: {problem}")
        self.command_id = command_id
        self.problem = problem


@dataclass(frozen=True)
class Command:
    id: str
    type: str
    max_duration_sec: int = contract.COMMAND_MAX_DURATION_DEFAULT
    upload_immediately: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def parse_command(raw: Any) -> Command:
    """A validated Command from one element of the reply's `commands` array."""
    if not isinstance(raw, dict):
        raise CommandError("", f"must be an object, got {type(raw).__name__}")
    cid = raw.get("id")
    if not isinstance(cid, str) or not cid:
        raise CommandError("", "missing string field 'id'")
    ctype = raw.get("type")
    if ctype not in contract.COMMAND_TYPES:
        raise CommandError(cid, f"type {ctype!r} is not one of {', '.join(contract.COMMAND_TYPES)}")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise CommandError(cid, "params must be an object")
    return Command(
        id=cid,
        type=ctype,
        max_duration_sec=_duration(cid, params),
        upload_immediately=_flag(cid, params),
        metadata=_metadata(cid, params),
        expires_at=_expiry(cid, raw.get("expires_at")),
    )


def _duration(cid: str, params: dict[str, Any]) -> int:
    value = params.get("max_duration_sec", contract.COMMAND_MAX_DURATION_DEFAULT)
    lo, hi = contract.COMMAND_MAX_DURATION_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise CommandError(cid, f"params.max_duration_sec {value!r} must be an integer {lo}..{hi}")
    return value


def _flag(cid: str, params: dict[str, Any]) -> bool:
    value = params.get("upload_immediately", True)
    if not isinstance(value, bool):
        raise CommandError(cid, f"params.upload_immediately {value!r} must be true or false")
    return value


def _metadata(cid: str, params: dict[str, Any]) -> dict[str, Any]:
    value = params.get("metadata") or {}
    if not isinstance(value, dict):
        raise CommandError(cid, "params.metadata must be an object")
    return value


def _expiry(cid: str, value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(str(value))
    except ValueError as exc:
        raise CommandError(cid, f"expires_at {value!r} is not an ISO 8601 time") from exc


class Recorder(Protocol):
    """What commands drive: the capture side of the agent."""

    def start_recording(self, cmd: Command) -> dict[str, Any]:
        """Start capturing; returns {"recording_id", "started_at"}; raises RecorderError."""
        ...

    def stop_recording(self, cmd: Command) -> dict[str, Any]:
        """Stop capturing; returns what was stopped; raises RecorderError."""
        ...


class CommandLedger:
    """Every command id this device has seen, its outcome, and whether the cloud heard it."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS agent_commands (
        id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL,
        result TEXT, error TEXT, reported INTEGER NOT NULL DEFAULT 0,
        received_at REAL NOT NULL, expires_at TEXT)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(self.SCHEMA)

    def claim(self, cmd_id: str, ctype: str, expires_at: str | None) -> bool:
        """Record the command as running; False if this id was seen before (do not run it)."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO agent_commands (id, type, status, received_at, expires_at)"
                " VALUES (?, ?, 'running', ?, ?)",
                (cmd_id, ctype, time.time(), expires_at),
            )
            return cur.rowcount == 1

    def finish(self, cmd_id: str, status: str, result: dict | None = None, error: str = "") -> None:
        with self._lock:
            self._db.execute(
                "UPDATE agent_commands SET status=?, result=?, error=? WHERE id=?",
                (status, json.dumps(result) if result else None, error or None, cmd_id),
            )

    def ignore(self, cmd_id: str, ctype: str, why: str) -> bool:
        """Note a command we will not run or report (expired); False if already noted."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO agent_commands (id, type, status, error, reported, received_at)"
                " VALUES (?, ?, 'ignored', ?, 1, ?)",
                (cmd_id, ctype, why, time.time()),
            )
            return cur.rowcount == 1

    def unreported(self) -> list[dict[str, Any]]:
        """Results for the next heartbeat's `command_results` (finished, not yet acknowledged)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, status, result, error FROM agent_commands"
                " WHERE reported=0 AND status IN ('executed', 'failed') ORDER BY received_at"
            ).fetchall()
        out = []
        for cid, status, result, error in rows:
            item: dict[str, Any] = {"id": cid, "status": status}
            if result:
                item["result"] = json.loads(result)
            if error:
                item["error"] = error
            out.append(item)
        return out

    def mark_reported(self, ids: list[str]) -> None:
        with self._lock:
            self._db.executemany(
                "UPDATE agent_commands SET reported=1 WHERE id=?", [(i,) for i in ids]
            )

    def recover(self) -> int:
        """After a restart: commands left 'running' are failed (they may have half-run; never rerun)."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE agent_commands SET status='failed', error='interrupted by agent restart'"
                " WHERE status='running'"
            )
            return cur.rowcount

    def prune(self, older_than_s: float = 7 * 86400) -> int:
        """Forget reported commands older than a week (the backend has long stopped re-sending)."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM agent_commands WHERE reported=1 AND received_at < ?",
                (time.time() - older_than_s,),
            )
            return cur.rowcount

    def status_of(self, cmd_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT status FROM agent_commands WHERE id=?", (cmd_id,)
            ).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CommandRunner:
    """Takes a heartbeat reply's commands and runs each new, unexpired one once."""

    def __init__(self, ledger: CommandLedger, recorder: Recorder, now=lambda: datetime.now(UTC)):
        self.ledger = ledger
        self.recorder = recorder
        self.now = now

    def handle(self, raw_commands: Any) -> int:
        """Run what is new; returns how many ran (successfully or not)."""
        if raw_commands is None:
            return 0
        if not isinstance(raw_commands, list):
            log.warning(
                "heartbeat reply: %r is not a list; ignored", contract.HEARTBEAT_COMMANDS_FIELD
            )
            return 0
        return sum(self._one(raw) for raw in raw_commands)

    def _one(self, raw: Any) -> bool:
        try:
            cmd = parse_command(raw)
        except CommandError as exc:
            return self._reject(exc)
        if cmd.expired(self.now()):
            if self.ledger.ignore(cmd.id, cmd.type, "expired before delivery"):
                log.warning(
                    "command %s (%s) expired at %s; ignored",
                    cmd.id,
                    cmd.type,
                    utc_iso(cmd.expires_at),
                )
            return False
        expires = utc_iso(cmd.expires_at) if cmd.expires_at else None
        if not self.ledger.claim(cmd.id, cmd.type, expires):
            log.debug("command %s already handled; not run again", cmd.id)
            return False
        self._execute(cmd)
        return True

    def _reject(self, exc: CommandError) -> bool:
        log.warning("%s", exc)
        if exc.command_id and self.ledger.claim(exc.command_id, "invalid", None):
            self.ledger.finish(exc.command_id, "failed", error=exc.problem)
            return True
        return False

    def _execute(self, cmd: Command) -> None:
        log.info("running command %s: %s", cmd.id, cmd.type)
        action = (
            self.recorder.start_recording
            if cmd.type == "start_recording"
            else self.recorder.stop_recording
        )
        try:
            result = action(cmd)
        except RecorderError as exc:
            log.warning("command %s failed: %s", cmd.id, exc)
            self.ledger.finish(cmd.id, "failed", error=str(exc))
            return
        except Exception as exc:
            self.ledger.finish(cmd.id, "failed", error=f"internal error: {exc!r}")
            raise
        self.ledger.finish(cmd.id, "executed", result=result)
        log.info("command %s executed: %s", cmd.id, result)

"""The spool: recordings and media in SQLite (WAL, synchronous=FULL) beside their files.

Layout of the spool directory (mode 0700): `spool.db`, `media/` (files named by local media id),
`incoming/` (writers' temp files, same file system), `quarantine/` (files that cannot be uploaded),
`.reserve` (disk held back so SQLite can always commit). One connection shared under a lock, so the
capture thread and the uploader thread can use one Spool at once.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from device import crashpoints
from device.clock import parse_iso, utc_iso, utc_now_iso
from device.config import MEDIA_TYPES
from device.contract import DEFAULT_CONTENT_TYPE, MEDIA_CONTENT_TYPES
from device.spool import files, quota, repair, schema
from device.spool.errors import InvalidEntry, SpoolError, UnknownEntry
from device.spool.states import TRANSITIONS

log = logging.getLogger(__name__)

DB_NAME = "spool.db"
MIB = 1024 * 1024


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class Spool:
    """Durable queue of recordings and their media files; see the module docstring for the layout."""

    def __init__(self, directory: Path, conn: sqlite3.Connection, max_mb: int, reserve_mb: int):
        self.directory = directory
        self.media_dir = directory / "media"
        self.incoming_dir = directory / "incoming"
        self.quarantine_dir = directory / "quarantine"
        self.reserve_file = directory / ".reserve"
        self.max_bytes = max_mb * MIB
        self.reserve_bytes = reserve_mb * MIB
        self._conn = conn
        self._lock = threading.RLock()
        self.repair_report: repair.RepairReport | None = None
        self.owner: int | None = None  # fd of the held `.lock`: this process repairs at start-up

    # ---- opening and closing -------------------------------------------------------------------

    @classmethod
    def open(
        cls, directory: Path, *, max_mb: int, reserve_mb: int = 8, repair_files: bool = True
    ) -> Spool:
        """Create the directory (0700) and database if needed, migrate, repair after a crash.

        The first process to open a spool owns it (an advisory lock) and repairs it; a second
        (`recorder status` beside the daemon) or one with `repair_files=False` only reads and adds.
        """
        directory = Path(directory)
        for sub in (
            directory,
            directory / "media",
            directory / "incoming",
            directory / "quarantine",
        ):
            files.ensure_private_dir(sub)
        conn = connect(directory / DB_NAME)
        schema.migrate(conn, str(directory / DB_NAME))
        spool = cls(directory, conn, max_mb, reserve_mb)
        if repair_files:
            spool.owner = files.try_lock(directory / ".lock")
        files.keep_reserve(spool.reserve_file, spool.reserve_bytes)
        if spool.owner is not None:
            spool.repair_report = repair.run(spool)
        return spool

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self.owner is not None:
                os.close(self.owner)
                self.owner = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- low-level access (the uploader, repair and quota modules use these) -------------------

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT) under the spool's lock."""
        with self._lock:
            self._begin()
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._commit()

    def _begin(self) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            self._on_disk_full(exc)
            self._conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        try:
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._on_disk_full(exc)
            self._conn.execute("COMMIT")

    def _on_disk_full(self, exc: sqlite3.OperationalError) -> None:
        """Release the reserve once so the commit can go through; anything else is re-raised."""
        if "full" not in str(exc) or not files.unlink_quietly(self.reserve_file):
            raise SpoolError(f"spool database {self.directory / DB_NAME}: {exc}") from exc
        log.warning("disk full: released the spool's %d-byte reserve to commit", self.reserve_bytes)

    def query(self, sql: str, params: tuple[Any, ...] | Mapping[str, Any] = ()) -> list[dict]:
        with self._lock:
            return [dict(row) for row in self._conn.execute(sql, params)]

    def query_one(self, sql: str, params: tuple[Any, ...] | Mapping[str, Any] = ()) -> dict | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def recording(self, recording_id: str) -> dict:
        row = self.query_one("SELECT * FROM recordings WHERE id = ?", (recording_id,))
        if row is None:
            raise UnknownEntry("recording", recording_id)
        row["metadata"] = json.loads(row["metadata"] or "{}")
        return row

    def media(self, media_id: str) -> dict:
        row = self.query_one("SELECT * FROM media WHERE id = ?", (media_id,))
        if row is None:
            raise UnknownEntry("media", media_id)
        return row

    def media_of(self, recording_id: str) -> list[dict]:
        return self.query(
            "SELECT * FROM media WHERE recording_id = ? ORDER BY seq", (recording_id,)
        )

    def media_path(self, row: Mapping[str, Any]) -> Path:
        return self.directory / row["path"]

    def update(self, kind: str, local_id: str, point: str | None = None, **fields: Any) -> None:
        """Write fields of one row (no state change); hit `point` once it is durable."""
        table = _table(kind)
        cols = ", ".join(f"{name} = :{name}" for name in fields)
        with self.tx() as conn:
            cur = conn.execute(
                f"UPDATE {table} SET {cols} WHERE id = :_id", {**fields, "_id": local_id}
            )
            if cur.rowcount != 1:
                raise UnknownEntry(kind, local_id)
        if point:
            crashpoints.hit(point)

    def transition(self, kind: str, local_id: str, old: str, new: str, **fields: Any) -> None:
        """Move one row from state old to new (with other fields) in one commit, then its crash point."""
        point = TRANSITIONS.get((kind, old, new))
        if point is None:
            raise SpoolError(
                f"{kind} {local_id}: no transition {old} -> {new} in the state machine"
            )
        table = _table(kind)
        values = {**fields, "state": new}
        cols = ", ".join(f"{name} = :{name}" for name in values)
        with self.tx() as conn:
            cur = conn.execute(
                f"UPDATE {table} SET {cols} WHERE id = :_id AND state = :_old",
                {**values, "_id": local_id, "_old": old},
            )
            if cur.rowcount != 1:
                raise SpoolError(f"{kind} {local_id}: expected state {old!r} for -> {new}")
        crashpoints.hit(point)

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.query_one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else default

    def set_meta(self, key: str, value: str | None) -> None:
        with self.tx() as conn:
            if value is None:
                conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # ---- the capture API -----------------------------------------------------------------------

    def incoming_path(self, suffix: str) -> Path:
        """A fresh temp path on the spool's file system, for a writer to fill and hand to add_media."""
        return self.incoming_dir / f"{uuid.uuid4().hex}{suffix}"

    def open_recording(
        self, *, started_at: str | None, metadata: dict | None = None, name: str | None = None
    ) -> str:
        """Start a local recording (open); `started_at` may be None until the wall clock is valid."""
        _check_time("started_at", started_at)
        return self._new_recording(started_at, None, False, name, metadata)

    def _new_recording(
        self,
        started_at: str | None,
        ended_at: str | None,
        closed: bool,
        name: str | None,
        metadata: dict | None,
    ) -> str:
        recording_id = new_id("lrec")
        with self.tx() as conn:
            conn.execute(
                "INSERT INTO recordings(id, name, started_at, ended_at, closed, metadata, added_at) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    recording_id,
                    name,
                    started_at,
                    ended_at,
                    int(closed),
                    json.dumps(metadata or {}),
                    utc_now_iso(),
                ),
            )
        return recording_id

    def add_media(
        self,
        recording_id: str,
        temp_path: Path,
        *,
        type: str,
        content_type: str,
        captured_at: str | None,
        monotonic_ns: int | None = None,
        boot_id: str | None = None,
    ) -> str:
        """Take a finished file into the spool: fsync, rename into media/, fsync dir, commit the row.

        Raises SpoolFull (the temp file is left where it is, for the caller) when the quota cannot
        be met even after evicting every completed media.
        """
        temp_path = Path(temp_path)
        content_type = _check_media(type, content_type)
        _check_time("captured_at", captured_at)
        self._open_recording_row(recording_id)
        size, md5 = files.fsync_and_hash(temp_path)
        quota.make_room(self, size, exclude=temp_path)
        media_id = new_id("lmed")
        target = self.media_dir / f"{media_id}{_suffix(temp_path)}"
        row = {
            "id": media_id,
            "recording_id": recording_id,
            "path": str(target.relative_to(self.directory)),
            "temp_path": str(temp_path),
            "type": type,
            "content_type": content_type,
            "size": size,
            "md5": md5,
            "captured_at": captured_at,
            "monotonic_ns": monotonic_ns,
            "boot_id": boot_id,
            "added_at": utc_now_iso(),
        }
        with self.tx() as conn:
            cols = ", ".join(row)
            conn.execute(
                f"INSERT INTO media({cols}) VALUES ({', '.join(':' + c for c in row)})", row
            )
        crashpoints.hit("spool.add.row")
        files.move_durably(temp_path, target)
        crashpoints.hit("spool.add.renamed")
        self.transition("media", media_id, "adding", "captured", temp_path=None)
        return media_id

    def close_recording(self, recording_id: str, *, ended_at: str | None) -> None:
        """Capture has ended: the recording may be completed once all its media are uploaded."""
        _check_time("ended_at", ended_at)
        self.recording(recording_id)
        self.update("recording", recording_id, closed=1, ended_at=ended_at)

    def update_times(
        self,
        recording_id: str,
        *,
        started_at: str | None = None,
        ended_at: str | None = None,
        media: Mapping[str, str] | None = None,
    ) -> None:
        """Stamp times found later (the wall clock was not valid at capture); None leaves a value."""
        for key, value in (
            ("started_at", started_at),
            ("ended_at", ended_at),
            *(media or {}).items(),
        ):
            _check_time(key, value)
        self.recording(recording_id)
        with self.tx() as conn:
            for column, value in (("started_at", started_at), ("ended_at", ended_at)):
                if value is not None:
                    conn.execute(
                        f"UPDATE recordings SET {column} = ? WHERE id = ?", (value, recording_id)
                    )
            for media_id, captured_at in (media or {}).items():
                cur = conn.execute(
                    "UPDATE media SET captured_at = ? WHERE id = ? AND recording_id = ?",
                    (captured_at, media_id, recording_id),
                )
                if cur.rowcount != 1:
                    raise UnknownEntry("media", media_id)

    def enqueue(
        self,
        path: Path,
        *,
        type: str,
        content_type: str | None = None,
        captured_at: str | None = None,
        recording_id: str | None = None,
    ) -> tuple[str, str]:
        """Copy a file into the spool (the original is never altered) -> (recording id, media id).

        Without a recording the file becomes its own closed recording; without a time, the file's
        modification time is used (for captured_at, started_at and ended_at).
        """
        path = Path(path)
        if not path.is_file():
            raise InvalidEntry(f"{path}: not a regular file")
        content_type = _check_media(type, content_type)
        captured_at = captured_at or utc_iso(path.stat().st_mtime)
        _check_time("captured_at", captured_at)
        temp = self.incoming_path(_suffix(path))
        files.copy_durably(path, temp)
        crashpoints.hit("spool.enqueue.copied")
        try:
            if recording_id is None:  # closed from the start: a crash leaves nothing half-open
                recording_id = self._new_recording(captured_at, captured_at, True, path.name, None)
            media_id = self.add_media(
                recording_id, temp, type=type, content_type=content_type, captured_at=captured_at
            )
        except BaseException:
            files.unlink_quietly(temp)
            raise
        return recording_id, media_id

    def space_available(self, nbytes: int) -> bool:
        """Is there room for nbytes more (evicting completed media, oldest first, if needed)?"""
        return quota.try_make_room(self, nbytes)

    def counts(self) -> dict[str, int]:
        """Media by state plus recordings by state (prefixed `recordings_`) and parked entries."""
        out: dict[str, int] = {}
        for row in self.query("SELECT state, COUNT(*) AS n FROM media GROUP BY state"):
            out[row["state"]] = row["n"]
        for row in self.query("SELECT state, COUNT(*) AS n FROM recordings GROUP BY state"):
            out[f"recordings_{row['state']}"] = row["n"]
        out["parked"] = self.query_one(
            "SELECT COUNT(*) AS n FROM media WHERE parked_reason IS NOT NULL AND state != 'quarantined'"
        )["n"]
        out["orphans"] = self.query_one("SELECT COUNT(*) AS n FROM orphans")["n"]
        return out

    def used_bytes(self) -> int:
        row = self.query_one(
            "SELECT COALESCE(SUM(size), 0) AS n FROM media WHERE state != 'evicted'"
        )
        return int(row["n"])

    # ---- helpers --------------------------------------------------------------------------------

    def _open_recording_row(self, recording_id: str) -> dict:
        row = self.recording(recording_id)
        if row["state"] == "completed":
            raise InvalidEntry(f"recording {recording_id} is already completed; open a new one")
        return row

    def quarantine(self, media_id: str, reason: str) -> None:
        """Move a media file that cannot be uploaded aside, with the reason; it is never deleted."""
        row = self.media(media_id)
        source = self.media_path(row)
        target = self.quarantine_dir / source.name
        if source.exists():
            files.move_durably(source, target)
        log.warning("media %s quarantined: %s", media_id, reason)
        self.transition(
            "media",
            media_id,
            row["state"],
            "quarantined",
            path=str(target.relative_to(self.directory)),
            parked_reason=reason,
            last_error=reason,
        )

    def add_orphan(
        self, row: Mapping[str, Any], server_recording_id: str | None, reason: str
    ) -> None:
        """Remember a media the server holds that we abandoned (counted in status)."""
        with self.tx() as conn:
            conn.execute(
                "INSERT INTO orphans(server_media_id, server_recording_id, media_id, reason, at) "
                "VALUES (?,?,?,?,?)",
                (row["server_media_id"], server_recording_id, row["id"], reason, utc_now_iso()),
            )


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with synchronous=FULL, autocommit (we BEGIN ourselves)."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.DatabaseError as exc:
        raise SpoolError(f"cannot open spool database {path}: {exc}") from exc
    return conn


def _table(kind: str) -> str:
    if kind == "media":
        return "media"
    if kind == "recording":
        return "recordings"
    raise ValueError(f"unknown entry kind {kind!r}")


def _suffix(path: Path) -> str:
    suffix = path.suffix
    return suffix if suffix.replace(".", "").isalnum() and len(suffix) <= 8 else ""


def _check_media(type: str, content_type: str | None) -> str:
    if type not in MEDIA_TYPES:
        raise InvalidEntry(f"media type {type!r} is not one of {', '.join(MEDIA_TYPES)}")
    content_type = content_type or DEFAULT_CONTENT_TYPE[type]
    if content_type not in MEDIA_CONTENT_TYPES[type]:
        allowed = ", ".join(MEDIA_CONTENT_TYPES[type])
        raise InvalidEntry(f"content type {content_type!r} is not allowed for {type} ({allowed})")
    return content_type


def _check_time(key: str, value: str | None) -> None:
    if value is None:
        return
    try:
        parse_iso(value)
    except (ValueError, TypeError) as exc:
        raise InvalidEntry(f"{key}: {value!r} is not an ISO 8601 time with a zone") from exc


def monotonic() -> float:
    """The scheduler's clock for next_attempt: Unix time (survives a restart, unlike monotonic)."""
    return time.time()

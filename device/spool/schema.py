"""The spool's SQLite schema as an ordered list of migrations; `PRAGMA user_version` says which ran.

A migration is appended, never edited: a device in the field may hold a database of any earlier
version, and `migrate()` brings it forward in one transaction per step.
"""

from __future__ import annotations

import sqlite3

from device.spool.errors import SchemaTooNew

MIGRATIONS: tuple[str, ...] = (
    # 1: recordings and media with their upload states, attempts and idempotency keys.
    """
    CREATE TABLE recordings (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        id            TEXT NOT NULL UNIQUE,
        server_id     TEXT,
        name          TEXT,
        started_at    TEXT,
        ended_at      TEXT,
        metadata      TEXT NOT NULL DEFAULT '{}',
        closed        INTEGER NOT NULL DEFAULT 0,
        state         TEXT NOT NULL DEFAULT 'local',
        create_key    TEXT,
        complete_key  TEXT,
        attempts      INTEGER NOT NULL DEFAULT 0,
        next_attempt  REAL NOT NULL DEFAULT 0,
        last_error    TEXT,
        parked_reason TEXT,
        added_at      TEXT NOT NULL,
        completed_at  TEXT
    );
    CREATE TABLE media (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        recording_id    TEXT NOT NULL REFERENCES recordings(id),
        path            TEXT NOT NULL,
        temp_path       TEXT,
        type            TEXT NOT NULL,
        content_type    TEXT NOT NULL,
        size            INTEGER NOT NULL,
        md5             TEXT NOT NULL,
        captured_at     TEXT,
        monotonic_ns    INTEGER,
        boot_id         TEXT,
        server_media_id TEXT,
        upload_url      TEXT,
        url_headers     TEXT,
        url_expires_at  TEXT,
        url_key         TEXT,
        etag            TEXT,
        state           TEXT NOT NULL DEFAULT 'adding',
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt    REAL NOT NULL DEFAULT 0,
        last_error      TEXT,
        parked_reason   TEXT,
        added_at        TEXT NOT NULL,
        uploaded_at     TEXT
    );
    """,
    # 2: indexes for the scheduler and status on large spools; orphaned server media.
    """
    CREATE INDEX media_state_seq ON media(state, seq);
    CREATE INDEX media_recording ON media(recording_id, state);
    CREATE INDEX recordings_state ON recordings(state, seq);
    CREATE TABLE orphans (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        server_media_id TEXT,
        server_recording_id TEXT,
        media_id        TEXT,
        reason          TEXT NOT NULL,
        at              TEXT NOT NULL
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 3: the body a recording's create key was first sent with (a retry must send the same body),
    #    and a partial index so the scheduler finds the oldest pending media at once.
    """
    ALTER TABLE recordings ADD COLUMN create_body TEXT;
    CREATE INDEX media_pending ON media(seq) WHERE state IN ('captured', 'url_issued');
    """,
    # 4: the server's reply to upload-complete (what `recorder upload` prints).
    """
    ALTER TABLE recordings ADD COLUMN server_reply TEXT;
    """,
)
VERSION = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: str, target: int = VERSION) -> int:
    """Apply every migration after the database's version up to `target`; return the new version."""
    found = version(conn)
    if found > VERSION:
        raise SchemaTooNew(path, found, VERSION)
    for number in range(found + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return version(conn)

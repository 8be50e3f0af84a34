"""The daily cellular budget, counted from the cellular interface's kernel byte counters.

Counting the interface (not the payload) makes TLS, TCP/IP, retries, API calls and heartbeats count.
Each sample adds the counter delta since the last sample to the current local day; the baseline and
the day's total are written together to SQLite (`policy.db` in the spool dir), so an agent restart
loses nothing (the kernel kept counting) and a reboot (new boot id, counters from 0) counts from 0.
Writes are batched (every `flush_bytes` or `flush_s`) to spare the flash.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from device.errors import RecorderError
from device.policy.window import local_day

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS budget_day (day TEXT PRIMARY KEY, used_bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counter_baseline (
    id INTEGER PRIMARY KEY CHECK (id = 1), boot_id TEXT NOT NULL, total_bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gate_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), allowed INTEGER NOT NULL, reason TEXT NOT NULL,
    link TEXT, at TEXT NOT NULL);
"""


class PolicyStoreError(RecorderError, OSError):
    """policy.db cannot be opened or written; names the file."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


def read_boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def connect(path: str | Path) -> sqlite3.Connection:
    """Open policy.db (WAL, synchronous=FULL) and create its tables."""
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
    except sqlite3.Error as exc:
        raise PolicyStoreError(str(path), f"cannot open: {exc}") from exc
    return conn


class CellularBudget:
    """Bytes used on the cellular interface per local day; thread-safe."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        zone: ZoneInfo,
        boot_id: str | None = None,
        flush_bytes: int = 1024 * 1024,
        flush_s: float = 30.0,
    ) -> None:
        self.conn = conn
        self.zone = zone
        self.boot_id = boot_id if boot_id is not None else read_boot_id()
        self.flush_bytes = flush_bytes
        self.flush_s = flush_s
        self._lock = self.lock = threading.RLock()  # also guards other users of `conn`
        self._baseline = self._load_baseline()
        self._day, self._used = "", 0
        self._dirty_bytes, self._flushed_at = 0, None

    def sample(self, now: datetime, total_bytes: int | None) -> int:
        """Add the counter delta since the last sample to today's total; return today's total.

        `total_bytes` is rx+tx of the cellular interface, None when the interface is absent.
        """
        with self._lock:
            self._roll_day(now)
            if total_bytes is not None:
                delta = self._delta(total_bytes)
                self._baseline = total_bytes
                self._used += delta
                self._dirty_bytes += delta
            if self._should_flush(now):
                self._flush(now)
            return self._used

    def used(self, now: datetime) -> int:
        """Today's total without sampling."""
        with self._lock:
            self._roll_day(now)
            return self._used

    def flush(self, now: datetime) -> None:
        with self._lock:
            self._flush(now)

    def _delta(self, total: int) -> int:
        if self._baseline is None:
            return 0  # first sight: traffic before the agent ran is not charged to today
        if total < self._baseline:
            log.info(
                "cellular counters went back (%d < %d): interface re-created", total, self._baseline
            )
            return total
        return total - self._baseline

    def _roll_day(self, now: datetime) -> None:
        day = local_day(now, self.zone).isoformat()
        if day == self._day:
            return
        if self._day:
            self._flush(now)  # close yesterday with what it had
        row = self.conn.execute(
            "SELECT used_bytes FROM budget_day WHERE day = ?", (day,)
        ).fetchone()
        self._day, self._used = day, row[0] if row else 0

    def _should_flush(self, now: datetime) -> bool:
        if self._flushed_at is None:
            return True
        age = (now - self._flushed_at).total_seconds()
        return self._dirty_bytes >= self.flush_bytes or abs(age) >= self.flush_s

    def _flush(self, now: datetime) -> None:
        try:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                self.conn.execute(
                    "INSERT INTO budget_day(day, used_bytes) VALUES (?, ?) "
                    "ON CONFLICT(day) DO UPDATE SET used_bytes = excluded.used_bytes",
                    (self._day, self._used),
                )
                if self._baseline is not None:
                    self.conn.execute(
                        "INSERT OR REPLACE INTO counter_baseline(id, boot_id, total_bytes) VALUES (1, ?, ?)",
                        (self.boot_id, self._baseline),
                    )
        except sqlite3.Error as exc:
            raise PolicyStoreError(
                "policy.db", f"cannot record the cellular budget: {exc}"
            ) from exc
        self._dirty_bytes, self._flushed_at = 0, now

    def _load_baseline(self) -> int | None:
        row = self.conn.execute(
            "SELECT boot_id, total_bytes FROM counter_baseline WHERE id = 1"
        ).fetchone()
        if row is None:
            return None
        if row[0] != self.boot_id:
            return 0  # rebooted: the kernel counts from 0 again, so everything since boot is new
        return row[1]

"""Which SIMs have a PIN attempt outstanding: kept on disk so a restarted agent never tries a PIN
that a SIM refused (three wrong tries lock it; systemd restarts would get there)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from hal.modem.errors import ModemError


class PinAttempts:
    """A set of SIM ids (ICCIDs) whose PIN was sent without the SIM accepting it yet.

    `mark()` before sending the PIN, `clear()` once the SIM is ready: an attempt cut short by a
    crash stays marked, which errs on the side of the SIM. Path "" keeps the set in memory only.
    """

    def __init__(self, path: str = "") -> None:
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._ids: set[str] = self._load()

    def tried(self, sim_id: str) -> bool:
        with self._lock:
            return sim_id in self._ids

    def mark(self, sim_id: str) -> None:
        with self._lock:
            self._ids.add(sim_id)
            self._save()

    def clear(self, sim_id: str) -> None:
        with self._lock:
            if sim_id in self._ids:
                self._ids.discard(sim_id)
                self._save()

    def _load(self) -> set[str]:
        if self.path is None or not self.path.exists():
            return set()
        try:
            ids = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise ModemError(f"PIN attempt record {self.path} unreadable: {exc}") from exc
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ModemError(f"PIN attempt record {self.path}: expected a JSON list of SIM ids")
        return set(ids)

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(sorted(self._ids), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

"""Start-up repair: make files and rows agree again after a crash, both ways, losing nothing.

- a row `adding` whose file made it into media/ (or is still at its temp path) is finished;
  one whose file is gone is dropped (add_media never returned: nothing was promised);
- a file in media/ or incoming/ without a row is moved to quarantine/ (kept, reported);
- a pending media whose file is missing or of the wrong size is quarantined with the reason;
- a file of an evicted media that survived its unlink is removed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from device.spool import files

if TYPE_CHECKING:
    from device.spool.store import Spool

log = logging.getLogger(__name__)


@dataclass
class RepairReport:
    finished: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    stray_files: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)
    evicted_leftovers: int = 0

    def changed(self) -> bool:
        return bool(
            self.finished
            or self.dropped
            or self.stray_files
            or self.quarantined
            or self.evicted_leftovers
        )


def run(spool: Spool) -> RepairReport:
    report = RepairReport()
    _finish_adding(spool, report)
    _check_pending(spool, report)
    _stray_files(spool, report)
    if report.changed():
        log.warning("spool repaired at start-up: %s", report)
    return report


def _finish_adding(spool: Spool, report: RepairReport) -> None:
    for row in spool.query("SELECT * FROM media WHERE state = 'adding' ORDER BY seq"):
        target = spool.media_path(row)
        temp = Path(row["temp_path"]) if row["temp_path"] else None
        if not target.exists() and temp is not None and temp.exists():
            files.move_durably(temp, target)
        if target.exists():
            spool.transition("media", row["id"], "adding", "captured", temp_path=None)
            report.finished.append(row["id"])
        else:
            with spool.tx() as conn:
                conn.execute("DELETE FROM media WHERE id = ?", (row["id"],))
            report.dropped.append(row["id"])


def _check_pending(spool: Spool, report: RepairReport) -> None:
    rows = spool.query(
        "SELECT id, path, size, state FROM media WHERE state IN ('captured', 'url_issued')"
    )
    base = str(spool.directory)
    for row in rows:  # plain os.path here: pathlib costs most of the time on 10,000 files
        try:
            size = os.stat(os.path.join(base, row["path"])).st_size
        except FileNotFoundError:
            reason = "file missing at start-up"
        else:
            if size == row["size"]:
                continue
            reason = f"torn file: {size} bytes on disk, {row['size']} recorded"
        spool.quarantine(row["id"], reason)
        report.quarantined[row["id"]] = reason
    for row in spool.query("SELECT path FROM media WHERE state = 'evicted'"):
        if files.unlink_quietly(spool.directory / row["path"]):
            report.evicted_leftovers += 1


def _stray_files(spool: Spool, report: RepairReport) -> None:
    base = str(spool.directory)
    rows = spool.query("SELECT path, temp_path FROM media")
    known = {os.path.join(base, row["path"]) for row in rows}
    known |= {row["temp_path"] for row in rows if row["temp_path"]}
    for folder in (spool.media_dir, spool.incoming_dir):
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.path in known:
                    continue
                path = Path(entry.path)
                target = spool.quarantine_dir / f"stray-{path.name}"
                files.move_durably(path, target)
                report.stray_files.append(str(target))
                log.warning("file without a spool row moved to %s", target)

"""Disk quota of the spool: evict media of completed recordings, oldest first, and nothing else.

The quota is `spool.max_mb` of media bytes (every file the spool still holds); on top of it the disk
itself must keep `reserve_mb` free, so SQLite can always commit.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from device.spool import files
from device.spool.errors import SpoolFull

if TYPE_CHECKING:
    from device.spool.store import Spool

log = logging.getLogger(__name__)

EVICTABLE_SQL = (
    "SELECT m.id, m.path, m.size FROM media m JOIN recordings r ON r.id = m.recording_id "
    "WHERE m.state = 'uploaded' AND r.state = 'completed' ORDER BY m.seq LIMIT 256"
)


def shortfall(spool: Spool, nbytes: int, exclude: Path | None = None) -> int:
    """Bytes still missing for nbytes more: against the quota, and against the disk's free space.

    `exclude` is a file already on disk that is being taken in (it holds its disk space already).
    """
    over_quota = spool.used_bytes() + nbytes - spool.max_bytes
    on_disk = 0 if exclude is not None else nbytes
    reserve_missing = 0 if spool.reserve_file.exists() else spool.reserve_bytes
    over_disk = on_disk + reserve_missing - files.free_bytes(spool.directory)
    return max(over_quota, over_disk, 0)


def evict(spool: Spool, nbytes: int) -> int:
    """Delete files of completed recordings, oldest first, until nbytes are freed; return freed."""
    freed = 0
    while freed < nbytes:
        rows = spool.query(EVICTABLE_SQL)
        if not rows:
            break
        for row in rows:
            spool.transition("media", row["id"], "uploaded", "evicted")
            files.unlink_quietly(spool.directory / row["path"])
            freed += row["size"]
            if freed >= nbytes:
                break
    if freed:
        log.info("evicted %d bytes of completed media", freed)
    return freed


def try_make_room(spool: Spool, nbytes: int, exclude: Path | None = None) -> bool:
    missing = shortfall(spool, nbytes, exclude)
    if missing:
        evict(spool, missing)
        missing = shortfall(spool, nbytes, exclude)
    return missing == 0


def make_room(spool: Spool, nbytes: int, exclude: Path | None = None) -> None:
    """Ensure room for nbytes or raise SpoolFull (un-uploaded data is never evicted)."""
    if not try_make_room(spool, nbytes, exclude):
        available = max(spool.max_bytes - spool.used_bytes(), 0)
        raise SpoolFull(nbytes, available, str(spool.directory))

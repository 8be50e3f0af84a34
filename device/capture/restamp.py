"""Stamp media an earlier process left without a time (wall time was not valid then), once it is.

Works only within the boot they were captured in: their monotonic times mean nothing after a
reboot. Media of other boots stay unstamped (and are never uploaded with a wrong time); they are
counted and logged so an operator can see them in `recorder status`.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from device.clock import TimeBase, boot_id, iso_from_ns
from device.codec.decode import media_seconds
from device.spool import Spool

log = logging.getLogger(__name__)

HELD_SQL = (
    "SELECT m.id, m.recording_id, m.type, m.path, m.monotonic_ns, m.boot_id, r.started_at, r.closed "
    "FROM media m JOIN recordings r ON r.id = m.recording_id "
    "WHERE m.captured_at IS NULL AND m.monotonic_ns IS NOT NULL ORDER BY m.seq"
)


def stamp_held(spool: Spool, timebase: TimeBase) -> int:
    """Stamp every held media of this boot (and its recording's start and end); returns how many."""
    if not timebase.check():
        return 0
    rows = spool.query(HELD_SQL)
    here = boot_id()
    foreign = [r for r in rows if r["boot_id"] != here]
    if foreign:
        log.warning(
            "%d media from an earlier boot have no valid time and stay unstamped", len(foreign)
        )
    by_recording: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row["boot_id"] == here:
            by_recording[row["recording_id"]].append(row)
    for rid, media in by_recording.items():
        _stamp_recording(spool, timebase, rid, media)
    return sum(len(m) for m in by_recording.values())


def _stamp_recording(spool: Spool, timebase: TimeBase, rid: str, media: list[dict]) -> None:
    stamps = {m["id"]: iso_from_ns(timebase.wall_at(m["monotonic_ns"])) for m in media}
    audio = [m for m in media if m["type"] == "audio"]
    started = ended = None
    if audio and media[0]["started_at"] is None:
        started = stamps[audio[0]["id"]]  # segment 0 starts at the recording's anchor
    if audio and media[0]["closed"]:
        last = audio[-1]
        seconds = media_seconds(spool.media_path(last))
        ended = iso_from_ns(timebase.wall_at(last["monotonic_ns"] + int(seconds * 1e9)))
    spool.update_times(rid, started_at=started, ended_at=ended, media=stamps)
    log.info("recording %s: stamped %d media held without a valid time", rid, len(stamps))

"""What the uploader does next: queries on the spool that pick the oldest runnable work.

Runnable means: not parked, its backoff passed, and its times valid (a recording's `started_at` and a
media's `captured_at` are stamped later when the wall clock was not valid at capture time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from device.spool import Spool

AUTH_PARK_KEY = "auth_parked_until"  # meta: Unix time until which everything is parked
AUTH_REASON_KEY = "auth_parked_reason"  # meta: why (unauthorized, tls)
GATE_REASON_KEY = "gate_reason"  # meta: why the gate last said no ('' when it said yes)

NEXT_MEDIA_SQL = """
SELECT m.id FROM media m INDEXED BY media_pending JOIN recordings r ON r.id = m.recording_id
WHERE m.state IN ('captured', 'url_issued') AND m.parked_reason IS NULL
  AND m.captured_at IS NOT NULL AND m.next_attempt <= :now
  AND r.started_at IS NOT NULL AND r.parked_reason IS NULL AND r.next_attempt <= :now
ORDER BY m.seq LIMIT 1
"""

NEXT_COMPLETION_SQL = """
SELECT r.id FROM recordings r
WHERE r.state = 'created' AND r.closed = 1 AND r.parked_reason IS NULL AND r.next_attempt <= :now
  AND NOT EXISTS (SELECT 1 FROM media m WHERE m.recording_id = r.id
                  AND m.state IN ('adding', 'captured', 'url_issued'))
ORDER BY r.seq LIMIT 1
"""

# Work that is not runnable now but will be without anyone's help: backoff, or times not yet valid.
READY_TO_COMPLETE = """
r.state = 'created' AND r.closed = 1 AND r.parked_reason IS NULL
AND NOT EXISTS (SELECT 1 FROM media m WHERE m.recording_id = r.id
                AND m.state IN ('adding', 'captured', 'url_issued'))
"""
# Work that is not runnable now but will be without anyone's help: backoff, or times not yet valid.
WAITING_SQL = f"""
SELECT
  (SELECT MIN(m.next_attempt) FROM media m JOIN recordings r ON r.id = m.recording_id
    WHERE m.state IN ('captured', 'url_issued') AND m.parked_reason IS NULL
      AND r.parked_reason IS NULL) AS media_due,
  (SELECT MIN(r.next_attempt) FROM recordings r WHERE {READY_TO_COMPLETE}) AS recording_due,
  (SELECT COUNT(*) FROM media m JOIN recordings r ON r.id = m.recording_id
    WHERE m.state IN ('captured', 'url_issued') AND m.parked_reason IS NULL
      AND r.parked_reason IS NULL) AS pending_media,
  (SELECT COUNT(*) FROM recordings r WHERE {READY_TO_COMPLETE}) AS pending_completions
"""


@dataclass(frozen=True)
class Work:
    """One unit of work: `action` is create, url, put or complete; ids are local."""

    action: str
    recording: dict[str, Any]
    media: dict[str, Any] | None = None


@dataclass(frozen=True)
class Backlog:
    pending_media: int
    pending_completions: int
    next_due: float | None  # Unix time the earliest waiting entry may run again

    @property
    def empty(self) -> bool:
        return not (self.pending_media or self.pending_completions)


def next_work(spool: Spool, now: float) -> Work | None:
    """The oldest runnable thing to do: complete a finished recording first, else the oldest media."""
    row = spool.query_one(NEXT_COMPLETION_SQL, {"now": now})
    if row is not None:
        return Work("complete", spool.recording(row["id"]))
    row = spool.query_one(NEXT_MEDIA_SQL, {"now": now})
    if row is None:
        return None
    media = spool.media(row["id"])
    recording = spool.recording(media["recording_id"])
    if recording["state"] != "created":
        return Work("create", recording, media)
    return Work("url" if media["state"] == "captured" else "put", recording, media)


def backlog(spool: Spool) -> Backlog:
    row = spool.query_one(WAITING_SQL)
    dues = [d for d in (row["media_due"], row["recording_due"]) if d is not None]
    return Backlog(row["pending_media"], row["pending_completions"], min(dues) if dues else None)

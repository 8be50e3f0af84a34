"""`recorder status`: what the spool holds and why anything is stuck, from the database alone.

Everything here is a handful of indexed aggregate queries, so it stays fast on a spool of 10,000
entries and can run beside the daemon (it opens the spool without repairing it).
"""

from __future__ import annotations

import time
from typing import Any

from device.spool import Spool
from device.upload_queue import AUTH_PARK_KEY, AUTH_REASON_KEY, GATE_REASON_KEY

PENDING_SQL = """
SELECT COUNT(*) AS n, COALESCE(SUM(m.size), 0) AS bytes, MIN(m.added_at) AS oldest,
       SUM(CASE WHEN m.captured_at IS NULL OR r.started_at IS NULL THEN 1 ELSE 0 END) AS untimed
FROM media m JOIN recordings r ON r.id = m.recording_id
WHERE m.state IN ('adding', 'captured', 'url_issued')
"""
PARKED_SQL = """
SELECT 'media' AS kind, id, recording_id, parked_reason AS reason FROM media
WHERE parked_reason IS NOT NULL
UNION ALL
SELECT 'recording', id, id, parked_reason FROM recordings WHERE parked_reason IS NOT NULL
LIMIT :limit
"""
ERRORS_SQL = """
SELECT 'media' AS kind, id, last_error AS error, attempts FROM media
WHERE last_error IS NOT NULL AND parked_reason IS NULL AND state IN ('captured', 'url_issued')
UNION ALL
SELECT 'recording', id, last_error, attempts FROM recordings
WHERE last_error IS NOT NULL AND parked_reason IS NULL AND state != 'completed'
LIMIT :limit
"""


def report(spool: Spool, limit: int = 20) -> dict[str, Any]:
    """Queue counts by state, pending bytes, parked entries with reasons, last errors, orphans."""
    media = {
        r["state"]: r["n"]
        for r in spool.query("SELECT state, COUNT(*) AS n FROM media GROUP BY state")
    }
    recordings = {
        r["state"]: r["n"]
        for r in spool.query("SELECT state, COUNT(*) AS n FROM recordings GROUP BY state")
    }
    pending = spool.query_one(PENDING_SQL)
    parked = spool.query(PARKED_SQL, {"limit": limit})
    auth_reason = spool.get_meta(AUTH_REASON_KEY)
    until = float(spool.get_meta(AUTH_PARK_KEY) or 0)
    return {
        "spool": str(spool.directory),
        "media": media,
        "recordings": recordings,
        "pending": {
            "media": pending["n"],
            "bytes": pending["bytes"],
            "oldest_added_at": pending["oldest"],
            "waiting_for_valid_time": pending["untimed"] or 0,
        },
        "parked_all": {"reason": auth_reason, "retry_in_s": max(0.0, until - time.time())}
        if auth_reason
        else None,
        "parked": parked,
        "parked_count": _count(
            spool, "SELECT COUNT(*) AS n FROM media WHERE parked_reason IS NOT NULL"
        )
        + _count(spool, "SELECT COUNT(*) AS n FROM recordings WHERE parked_reason IS NOT NULL"),
        "last_errors": spool.query(ERRORS_SQL, {"limit": limit}),
        "orphans": _count(spool, "SELECT COUNT(*) AS n FROM orphans"),
        "gate": spool.get_meta(GATE_REASON_KEY) or None,
        "used_bytes": spool.used_bytes(),
        "max_bytes": spool.max_bytes,
    }


def _count(spool: Spool, sql: str) -> int:
    return int(spool.query_one(sql)["n"])


def render(status: dict[str, Any]) -> str:
    """The human form of `report()`."""
    lines = [f"spool {status['spool']}: {status['used_bytes']} of {status['max_bytes']} bytes used"]
    lines.append("media: " + _pairs(status["media"]))
    lines.append("recordings: " + _pairs(status["recordings"]))
    p = status["pending"]
    lines.append(
        f"pending: {p['media']} media, {p['bytes']} bytes, oldest added {p['oldest_added_at'] or '-'}"
        f", {p['waiting_for_valid_time']} waiting for a valid time"
    )
    if status["parked_all"]:
        pa = status["parked_all"]
        lines.append(f"ALL PARKED: {pa['reason']} (next try in {pa['retry_in_s']:.0f} s)")
    if status["gate"]:
        lines.append(f"gate closed: {status['gate']}")
    lines.append(f"parked: {status['parked_count']}")
    lines += [f"  {r['kind']} {r['id']}: {r['reason']}" for r in status["parked"]]
    if status["last_errors"]:
        lines.append("last errors:")
        lines += [
            f"  {r['kind']} {r['id']} ({r['attempts']} attempts): {r['error']}"
            for r in status["last_errors"]
        ]
    lines.append(f"orphans (abandoned server media): {status['orphans']}")
    return "\n".join(lines)


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"

"""`upload_immediately: false`: a recording's upload waits until the recording ends.

The hold is the recording's `parked_reason` in the spool (the uploader skips parked recordings, and
`recorder status` shows why); it is lifted when capture ends, and at agent start for any left over.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
HOLD_REASON = "held until the recording ends (upload_immediately=false)"


class UploadHolds:
    def __init__(self, spool: Any, wake: Any = None) -> None:
        self.spool = spool
        self.wake = wake or (lambda: None)

    def hold(self, recording_id: str) -> None:
        self.spool.update("recording", recording_id, parked_reason=HOLD_REASON)
        log.info("recording %s: upload held until it ends", recording_id)

    def release(self, recording_id: str) -> None:
        with self.spool.tx() as conn:
            n = conn.execute(
                "UPDATE recordings SET parked_reason = NULL WHERE id = ? AND parked_reason = ?",
                (recording_id, HOLD_REASON),
            ).rowcount
        if n:
            log.info("recording %s: upload released", recording_id)
            self.wake()

    def release_all(self) -> int:
        """At start: nothing records yet, so every hold left by an earlier run is lifted."""
        with self.spool.tx() as conn:
            n = conn.execute(
                "UPDATE recordings SET parked_reason = NULL WHERE parked_reason = ?", (HOLD_REASON,)
            ).rowcount
        if n:
            log.info("released %d upload hold(s) left by the last run", n)
        return n

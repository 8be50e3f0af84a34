"""The states of spool entries, every transition between them, and the crash point of each.

A transition is only ever made through `Spool.transition()`, which refuses one not listed here, so
every state change has its crash point (tests/test_spool_crash.py checks the list and crashes at each).
"""

from __future__ import annotations

RECORDING_STATES = ("local", "created", "completed")
MEDIA_STATES = ("adding", "captured", "url_issued", "uploaded", "quarantined", "evicted")
PENDING_MEDIA = ("captured", "url_issued")  # bytes not yet confirmed on the server

# (kind, from, to) -> the crash point hit right after the change is durable.
TRANSITIONS: dict[tuple[str, str, str], str] = {
    ("media", "adding", "captured"): "spool.add.committed",
    ("media", "captured", "url_issued"): "upload.url.recorded",
    ("media", "url_issued", "uploaded"): "upload.put.recorded",
    ("media", "url_issued", "captured"): "upload.url.dropped",  # expired, or server media lost
    ("media", "uploaded", "captured"): "upload.media.reset",  # its server recording was lost
    ("media", "captured", "quarantined"): "spool.media.quarantined",
    ("media", "url_issued", "quarantined"): "spool.media.quarantined",
    ("media", "uploaded", "evicted"): "spool.media.evicted",
    ("recording", "local", "created"): "upload.create.recorded",
    ("recording", "created", "completed"): "upload.complete.recorded",
    ("recording", "created", "local"): "upload.create.lost",  # 404: recreate with a new key
}

# Durable changes that are not state changes, and windows between a network effect and its record.
EXTRA_POINTS: tuple[str, ...] = (
    "spool.add.row",  # media row 'adding' committed, file not yet renamed in
    "spool.add.renamed",  # file renamed into media/, row still 'adding'
    "spool.enqueue.copied",  # copy of an enqueued file written to incoming/
    "upload.create.key_saved",  # idempotency key durable, request not sent
    "upload.create.replied",  # server created the recording, reply not yet recorded
    "upload.url.key_saved",
    "upload.url.replied",  # server issued media + URL, not yet recorded
    "upload.put.mid",  # between chunks of the PUT
    "upload.put.done",  # S3 stored the bytes, state not yet written
    "upload.complete.key_saved",
    "upload.complete.replied",  # server completed the recording, not yet recorded
    "upload.parked",  # an entry parked with a reason
)

CRASH_POINTS: tuple[str, ...] = tuple(dict.fromkeys((*TRANSITIONS.values(), *EXTRA_POINTS)))

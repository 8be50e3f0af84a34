"""The durable spool: recordings and media in SQLite beside their files (see store.py)."""

from device.spool.errors import (
    InvalidEntry,
    SchemaTooNew,
    SpoolBusy,
    SpoolError,
    SpoolFull,
    UnknownEntry,
)
from device.spool.states import CRASH_POINTS, MEDIA_STATES, RECORDING_STATES, TRANSITIONS
from device.spool.store import Spool

__all__ = [
    "CRASH_POINTS",
    "MEDIA_STATES",
    "RECORDING_STATES",
    "TRANSITIONS",
    "InvalidEntry",
    "SchemaTooNew",
    "SpoolBusy",
    "Spool",
    "SpoolError",
    "SpoolFull",
    "UnknownEntry",
]

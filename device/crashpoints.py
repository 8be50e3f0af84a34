"""Test-only crash points: `RECORDER_CRASH_AT=name[:n]` SIGKILLs this process at the n-th hit of name.

Every durable state change of the spool and the uploader, and every window between a network effect
and its record, calls `hit(name)`. With the variable unset (always, on a device) a hit is one dict
lookup. The names live in `device.spool.states.CRASH_POINTS` so a test can check they are all covered.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "RECORDER_CRASH_AT"
_lock = threading.Lock()
_counts: dict[str, int] = {}


def _wanted() -> dict[str, int]:
    spec = os.environ.get(ENV, "")
    wanted: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, nth = item.partition(":")
        wanted[name] = int(nth) if nth else 1
    return wanted


def hit(name: str) -> None:
    """Kill the process (SIGKILL, no clean-up at all) if the switch names this point."""
    wanted = _wanted()
    if name not in wanted:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        if _counts[name] >= wanted[name]:
            os.kill(os.getpid(), signal.SIGKILL)

"""Local ways to start a recording without the cloud: a daily schedule and a signal (SIGUSR1).

A recorder without a connection still records: the schedule fires at the configured times of day, and
SIGUSR1 (from a button daemon, a udev rule, or `kill -USR1`) toggles recording.
"""

from __future__ import annotations

import re
import signal
import threading
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from device.config import ConfigError

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class Schedule:
    """Daily start times; `due(now)` is True once per time per day, when that time has come."""

    def __init__(self, spec: str, zone: str = "UTC") -> None:
        self.times = parse_schedule(spec)
        self.zone = ZoneInfo(zone)
        self._fired: set[tuple[date, time]] = set()
        self._armed_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        """True if a start time has passed since the schedule was armed and not yet fired today."""
        local = now.astimezone(self.zone)
        if self._armed_at is None:
            self._armed_at = local  # times already past at start-up do not fire retroactively
        for at in self.times:
            moment = datetime.combine(local.date(), at, self.zone)
            key = (local.date(), at)
            if self._armed_at < moment <= local and key not in self._fired:
                self._fired.add(key)
                return True
        return False


def parse_schedule(spec: str, source: str = "config") -> tuple[time, ...]:
    """'08:00, 17:30' -> times; ConfigError naming agent.schedule (and the file) if malformed."""
    out = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        m = _HHMM.match(part)
        if not m:
            raise ConfigError(
                "agent.schedule", "config", f"{part!r} is not HH:MM", "e.g. 08:00,17:30"
            )
        out.append(time(int(m.group(1)), int(m.group(2))))
    return tuple(sorted(set(out)))


class SignalTrigger:
    """SIGUSR1 sets an event the capture worker polls (a signal handler must do almost nothing)."""

    def __init__(self, signum: int = signal.SIGUSR1) -> None:
        self.signum = signum
        self.event = threading.Event()
        self._previous = None

    def install(self) -> None:
        self._previous = signal.signal(self.signum, lambda *_: self.event.set())

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(self.signum, self._previous)
            self._previous = None

    def take(self) -> bool:
        """True once per delivered signal (several close together count once)."""
        if self.event.is_set():
            self.event.clear()
            return True
        return False

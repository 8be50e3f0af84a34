"""Local time in the configured zone: the off-peak window (may cross midnight) and the next midnight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def local_day(now: datetime, zone: ZoneInfo) -> date:
    """The calendar day `now` falls on in `zone` (the budget's accounting day)."""
    return now.astimezone(zone).date()


def seconds_to_midnight(now: datetime, zone: ZoneInfo) -> float:
    """Seconds until the next local midnight in `zone` (DST-safe: computed in UTC)."""
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    return max(0.0, (midnight - now).total_seconds())


@dataclass(frozen=True)
class OffPeakWindow:
    """Uploads allowed from `start` (inclusive) to `end` (exclusive), local wall-clock time in `zone`.

    `start > end` crosses midnight (22:00-06:00); `start == end` means all day.
    """

    start: time
    end: time
    zone: ZoneInfo

    def contains(self, now: datetime) -> bool:
        t = now.astimezone(self.zone).time().replace(tzinfo=None)
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def seconds_until_open(self, now: datetime) -> float:
        """0 inside the window, else seconds until the next local `start`."""
        if self.contains(now):
            return 0.0
        local = now.astimezone(self.zone)
        opens = datetime.combine(local.date(), self.start, tzinfo=self.zone)
        if opens <= local:
            opens = datetime.combine(local.date() + timedelta(days=1), self.start, tzinfo=self.zone)
        return max(0.0, (opens - now).total_seconds())

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.zone.key}"

"""The values a power reading yields, the backend shape, and the storage reading every backend shares."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from hal.power.errors import PowerError

BATTERY_STATUSES = ("charging", "discharging", "full", "not_charging", "unknown")


@dataclass(frozen=True)
class BatteryState:
    """One battery reading; `external_power` is true when a mains/USB supply is online."""

    present: bool
    capacity_percent: int | None  # 0..100, None when the gauge does not say
    status: str  # one of BATTERY_STATUSES
    external_power: bool = False

    @property
    def charging(self) -> bool:
        """On external power (charging, full, or a supply online): uploads may drain the battery."""
        return self.status in ("charging", "full") or self.external_power


@dataclass(frozen=True)
class StorageState:
    """The file system holding a directory: sizes in bytes."""

    path: str
    total_bytes: int
    free_bytes: int  # available to this (unprivileged) process

    @property
    def used_bytes(self) -> int:
        return max(0, self.total_bytes - self.free_bytes)


class PowerBackend(Protocol):
    def battery(self) -> BatteryState | None:
        """The main battery, or None on a device without one (mains powered)."""
        ...

    def storage(self, path: str) -> StorageState:
        """Sizes of the file system holding `path` (the spool directory)."""
        ...


def storage_of(path: str) -> StorageState:
    """statvfs of the file system holding `path`."""
    try:
        st = os.statvfs(path)
    except OSError as exc:
        raise PowerError(f"cannot statvfs {path}: {exc}") from exc
    return StorageState(path, st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize)

"""Battery and storage readings: sysfs power_supply and statvfs, or a simulated JSON state file."""

from __future__ import annotations

from hal.power.errors import PowerError, PowerStateError
from hal.power.state import BATTERY_STATUSES, BatteryState, PowerBackend, StorageState, storage_of


def open_backend(
    name: str, sim_file: str = "", sysfs_root: str = "/sys/class/power_supply"
) -> PowerBackend:
    """The backend named by config: `sysfs` (real) or `sim` (JSON state file)."""
    if name == "sysfs":
        from hal.power.sysfs import SysfsPower

        return SysfsPower(root=sysfs_root)
    if name == "sim":
        from hal.power.sim import SimPower

        return SimPower(sim_file)
    raise PowerError(f"unknown power backend {name!r} (allowed: sysfs, sim)")


__all__ = [
    "BATTERY_STATUSES",
    "BatteryState",
    "PowerBackend",
    "PowerError",
    "PowerStateError",
    "StorageState",
    "open_backend",
    "storage_of",
]

"""The real backend: /sys/class/power_supply (battery gauge and chargers), statvfs for storage."""

from __future__ import annotations

import logging
from pathlib import Path

from hal.power.errors import PowerError
from hal.power.state import BATTERY_STATUSES, BatteryState, StorageState, storage_of

log = logging.getLogger(__name__)

EXTERNAL_TYPES = ("Mains", "USB", "USB_C", "USB_PD", "USB_DCP", "USB_CDP", "USB_ACA", "Wireless")


class SysfsPower:
    """Reads the first supply of type Battery under `root`; chargers with online=1 mean external power."""

    def __init__(self, root: str = "/sys/class/power_supply") -> None:
        self.root = Path(root)

    def battery(self) -> BatteryState | None:
        supplies = self._supplies()
        batteries = [p for p in supplies if _read(p / "type") == "Battery"]
        if not batteries:
            return None
        bat = batteries[0]
        external = any(
            _read(p / "type") in EXTERNAL_TYPES and _read(p / "online") == "1" for p in supplies
        )
        return BatteryState(
            present=_read(bat / "present") != "0",
            capacity_percent=_capacity(bat),
            status=_status(_read(bat / "status")),
            external_power=external,
        )

    def storage(self, path: str) -> StorageState:
        return storage_of(path)

    def _supplies(self) -> list[Path]:
        if not self.root.exists():
            return []
        try:
            return sorted(self.root.iterdir())
        except OSError as exc:
            raise PowerError(f"cannot list {self.root}: {exc}") from exc


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:  # some gauges answer EIO or ENODATA while booting
        log.debug("cannot read %s: %s", path, exc)
        return None


def _capacity(bat: Path) -> int | None:
    text = _read(bat / "capacity")
    try:
        return max(0, min(100, int(text))) if text else None
    except ValueError:
        log.warning("%s: capacity is not a number: %r", bat, text)
        return None


def _status(text: str | None) -> str:
    value = (text or "unknown").strip().lower().replace(" ", "_")
    return value if value in BATTERY_STATUSES else "unknown"

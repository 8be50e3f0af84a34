"""The simulated backend: a JSON file another process (a test, QA) can rewrite.

    {"battery": {"present": true, "capacity_percent": 40, "status": "discharging",
                 "external_power": false},
     "storage": {"total_bytes": 1000000, "free_bytes": 500000}}

`"battery": null` means no battery (mains powered). Without `storage`, the real statvfs is used.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hal.power.errors import PowerStateError
from hal.power.state import BATTERY_STATUSES, BatteryState, StorageState, storage_of

BATTERY_FIELDS = {
    "present": bool,
    "capacity_percent": (int, type(None)),
    "status": str,
    "external_power": bool,
}


class SimPower:
    """Battery and storage from a JSON state file, re-read on every call."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not str(path):
            raise PowerStateError(
                "<none>", "the sim power backend needs a state file (power.sim_file)"
            )
        self.path = Path(path)

    def battery(self) -> BatteryState | None:
        spec = self._read().get("battery")
        if spec is None:
            return None
        return BatteryState(
            present=spec.get("present", True),
            capacity_percent=spec.get("capacity_percent", 100),
            status=spec.get("status", "discharging"),
            external_power=spec.get("external_power", False),
        )

    def storage(self, path: str) -> StorageState:
        spec = self._read().get("storage")
        if spec is None:
            return storage_of(path)
        try:
            return StorageState(path, int(spec["total_bytes"]), int(spec["free_bytes"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise PowerStateError(
                str(self.path), f"storage: needs total_bytes and free_bytes ({exc})"
            ) from exc

    def set_battery(self, **fields: Any) -> None:
        """Change battery fields and rewrite the file atomically."""
        data = self._read() if self.path.exists() else {}
        battery = dict(data.get("battery") or {})
        battery.update(fields)
        data["battery"] = battery
        _check(str(self.path), data)
        _write(self.path, data)

    def _read(self) -> dict[str, Any]:
        where = str(self.path)
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise PowerStateError(where, "state file not found") from None
        except (OSError, ValueError) as exc:
            raise PowerStateError(where, f"unreadable: {exc}") from exc
        _check(where, data)
        return data


def _check(where: str, data: Any) -> None:
    if not isinstance(data, dict):
        raise PowerStateError(where, "must be a JSON object")
    battery = data.get("battery")
    if battery is None:
        return
    if not isinstance(battery, dict):
        raise PowerStateError(where, "battery: must be an object or null")
    for key, value in battery.items():
        want = BATTERY_FIELDS.get(key)
        if want is None:
            raise PowerStateError(where, f"battery.{key}: unknown field")
        if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
            raise PowerStateError(where, f"battery.{key}: wrong type {type(value).__name__}")
    if battery.get("status", "discharging") not in BATTERY_STATUSES:
        raise PowerStateError(where, f"battery.status: not one of {', '.join(BATTERY_STATUSES)}")
    cap = battery.get("capacity_percent")
    if cap is not None and not 0 <= cap <= 100:
        raise PowerStateError(where, f"battery.capacity_percent: {cap} not in 0..100")


def _write(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""What the device knows right now, gathered for the heartbeat from each part (any may be absent).

Each reading is guarded: a failing sensor leaves its field out of the heartbeat (logged once), it never
stops the heartbeat.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from device.config import Config
from device.heartbeat import DeviceSnapshot

log = logging.getLogger(__name__)
MIB = 1024 * 1024
_warned: set[str] = set()


@dataclass(frozen=True)
class SnapshotSources:
    config: Config
    spool: Any = None
    capture: Any = None
    uploading: bool = False
    power: Any = None
    modem: Any = None  # the latest ModemStatus
    links: Callable[[], tuple[str, ...]] | None = None  # connection types up now
    trouble: bool = False  # a worker is stalled or waiting to restart


def take_snapshot(src: SnapshotSources) -> DeviceSnapshot:
    battery = _guard("battery", lambda: src.power.battery() if src.power else None)
    percent = getattr(battery, "capacity_percent", None)
    charging = getattr(battery, "charging", None) if battery is not None else None
    low = percent is not None and percent < src.config.agent.low_battery_percent and not charging
    used_mb, total_mb = _storage(src)
    capture_state = (
        _guard("capture", lambda: src.capture.state if src.capture else "idle") or "idle"
    )
    storage_full = capture_state == "storageFull"
    connections = _connections(src)
    state = _device_state(src, capture_state, low, bool(charging))
    return DeviceSnapshot(
        device_state=state,
        battery_percent=percent,
        charging=charging,
        low_battery=low,
        storage_used_mb=used_mb,
        storage_total_mb=total_mb,
        storage_full=storage_full,
        signal_dbm=_signal(src.modem),
        pending_recordings=_pending(src.spool),
        connections=connections,
        sync_active=src.uploading,
    )


def _device_state(src: SnapshotSources, capture_state: str, low: bool, charging: bool) -> str:
    if src.trouble:
        return "error"
    if capture_state in ("storageFull", "recording"):
        return capture_state
    if src.uploading:
        return "uploading"
    if low:
        return "lowBattery"
    return "charging" if charging else "idle"


def _storage(src: SnapshotSources) -> tuple[float | None, float | None]:
    if src.spool is None:
        return None, None
    used = _guard("spool usage", lambda: src.spool.used_bytes() / MIB)
    disk = _guard("storage", lambda: shutil.disk_usage(src.spool.directory).total / MIB)
    cap = float(src.config.spool.max_mb)
    return used, cap if disk is None else min(cap, disk)


def _pending(spool: Any) -> int | None:
    if spool is None:
        return None
    row = _guard(
        "pending recordings",
        lambda: spool.query_one("SELECT COUNT(*) AS n FROM recordings WHERE state != 'completed'"),
    )
    return None if row is None else int(row["n"])


def _signal(modem: Any) -> int | None:
    dbm = getattr(modem, "signal_dbm", None)
    return dbm if isinstance(dbm, int) and -150 <= dbm <= 0 else None


def _connections(src: SnapshotSources) -> tuple[str, ...]:
    found = set(_guard("links", src.links) or ()) if src.links else set()
    if getattr(src.modem, "data_session", None) == "up":
        found.add("4g")
    return tuple(sorted(found))


def _guard(what: str, read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - a failing sensor must not stop the heartbeat
        if what not in _warned:
            log.warning("heartbeat: %s unavailable: %s", what, exc)
            _warned.add(what)
        return None

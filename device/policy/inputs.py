"""The values the upload policy decides on: one snapshot of every input, taken at one moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hal.net import LinkState
from hal.power import BatteryState

REGISTRATIONS = ("home", "roaming", "searching", "denied", "not_registered", "unknown")


@dataclass(frozen=True)
class CellularState:
    """What the modem says about the cellular network (hal/modem's ModemStatus, reduced)."""

    registration: str  # one of REGISTRATIONS
    data_up: bool
    signal_dbm: int | None = None

    def __post_init__(self) -> None:
        if self.registration not in REGISTRATIONS:
            raise ValueError(
                f"registration {self.registration!r} not one of {', '.join(REGISTRATIONS)}"
            )


@dataclass(frozen=True)
class Conditions:
    """Every input of one decision; links are None when not configured or not present."""

    now: datetime  # timezone-aware
    wifi: LinkState | None = None
    ethernet: LinkState | None = None
    cellular_link: LinkState | None = None
    cellular: CellularState | None = None  # None: no modem to ask (link state alone decides)
    battery: BatteryState | None = None  # None: no battery (mains powered)
    cellular_used_bytes: int = 0  # counted today (local day) on the cellular interface
    roles: frozenset[str] = frozenset(("wifi", "ethernet", "cellular"))  # kinds configured here

    def link(self, kind: str) -> LinkState | None:
        return {"wifi": self.wifi, "ethernet": self.ethernet, "cellular": self.cellular_link}[kind]

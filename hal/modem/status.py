"""`ModemStatus`: one frozen snapshot of the modem, the shape of `recorder modem status --json`,
and `ModemEvent`, what subscribers of the driver hear when it changes.

Values: `sim` in SIM_STATES, `registration` in REGISTRATION_STATES, `data_session` "up"/"down";
`signal_dbm`, `rssi`, `ber` are None when the modem reports 99 (unknown) or did not answer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

SIM_STATES = ("ready", "absent", "pin_required", "puk_required", "error")
REGISTRATION_STATES = ("home", "roaming", "searching", "denied", "not_registered", "unknown")
EVENT_KINDS = (
    "registered",  # registration became home
    "roaming",  # registration became roaming
    "lost",  # was home/roaming, now searching/denied/not_registered/unknown
    "data_up",
    "data_down",
    "signal",  # signal_dbm changed (including to/from unknown)
    "sim",  # SIM state changed
    "restarted",  # the modem rebooted (RDY) and was brought up again
    "port_lost",  # the serial port vanished
    "port_back",  # ... and returned
)


@dataclass(frozen=True)
class ModemStatus:
    sim: str = "error"
    registration: str = "unknown"
    operator: str | None = None
    access_technology: str | None = None
    signal_dbm: int | None = None
    rssi: int | None = None
    ber: int | None = None
    imei: str | None = None
    iccid: str | None = None
    data_session: str = "down"
    # extras beyond the design's fields
    mcc_mnc: str | None = None
    band: str | None = None
    rsrp_dbm: int | None = None
    rsrq_db: int | None = None
    sinr_db: float | None = None
    network_time: dt.datetime | None = None
    data_interface: str | None = None
    data_address: str | None = None
    model: str | None = None
    revision: str | None = None
    port: str | None = None
    errors: tuple[str, ...] = ()  # queries that failed while building this snapshot

    @property
    def registered(self) -> bool:
        return self.registration in ("home", "roaming")

    def replace(self, **changes: Any) -> ModemStatus:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 UTC with milliseconds and Z)."""
        out = dataclasses.asdict(self)
        if self.network_time is not None:
            out["network_time"] = self.network_time.astimezone(dt.UTC).isoformat(
                timespec="milliseconds"
            ).replace("+00:00", "Z")
        out["errors"] = list(self.errors)
        return out


@dataclass(frozen=True)
class ModemEvent:
    """kind is one of EVENT_KINDS; status is the snapshot after the change."""

    kind: str
    status: ModemStatus
    detail: str = ""


def events_between(old: ModemStatus, new: ModemStatus) -> list[ModemEvent]:
    """The events a change from old to new means (registration, data session, signal, SIM)."""
    events: list[ModemEvent] = []
    if new.sim != old.sim:
        events.append(ModemEvent("sim", new, f"{old.sim} -> {new.sim}"))
    if new.registration != old.registration:
        events += _registration_event(old, new)
    if new.data_session != old.data_session:
        kind = "data_up" if new.data_session == "up" else "data_down"
        events.append(ModemEvent(kind, new, f"{old.data_session} -> {new.data_session}"))
    if new.signal_dbm != old.signal_dbm:
        events.append(ModemEvent("signal", new, f"{old.signal_dbm} -> {new.signal_dbm} dBm"))
    return events


def _registration_event(old: ModemStatus, new: ModemStatus) -> list[ModemEvent]:
    detail = f"{old.registration} -> {new.registration}"
    if new.registration == "home":
        return [ModemEvent("registered", new, detail)]
    if new.registration == "roaming":
        return [ModemEvent("roaming", new, detail)]
    if old.registered:
        return [ModemEvent("lost", new, detail)]
    return []

"""What a person (or the heartbeat) wants to know about the links and the policy, as one dict."""

from __future__ import annotations

import dataclasses
from typing import Any

from device.contract import STATUS_FLAGS
from device.policy.gate import PolicyGate
from device.policy.rules import MIB
from hal.errors import HalError


def link_report(gate: PolicyGate) -> dict[str, Any]:
    """Each configured role's link, the battery, storage, the decision for a file now, the budget."""
    c = gate.conditions()
    roles = dataclasses.asdict(gate.interfaces)
    links = {}
    for kind, name in roles.items():
        link = c.link(kind)
        links[kind] = None if link is None else {**dataclasses.asdict(link), "up": link.up}
        if name and link is None:
            links[kind] = {"name": name, "present": False}
    return {
        "links": links,
        "cellular": dataclasses.asdict(c.cellular) if c.cellular else None,
        "battery": dataclasses.asdict(c.battery) if c.battery else None,
        "storage": _storage(gate),
        **gate.status(),
        "now": dataclasses.asdict(gate.policy.decide_file(c, 0)),
    }


def _storage(gate: PolicyGate) -> dict[str, Any] | None:
    if gate.power is None or gate.storage_dir is None:
        return None
    try:
        st = gate.power.storage(gate.storage_dir)
    except HalError as exc:
        return {"error": str(exc)}
    return {**dataclasses.asdict(st), "used_bytes": st.used_bytes}


def heartbeat_fields(gate: PolicyGate) -> dict[str, Any]:
    """The heartbeat body fields this part knows (contract section 5): battery, storage, links.

    `status_flags` carries the charging, low-battery, WiFi and LTE bits; the agent ORs in the rest.
    """
    c = gate.conditions()
    out: dict[str, Any] = {"status_flags": 0, "connection_type": []}
    bat = c.battery
    if bat is not None and bat.present and bat.capacity_percent is not None:
        out["battery_percent"] = bat.capacity_percent
        if bat.charging:
            out["status_flags"] |= STATUS_FLAGS["charging"]
        if bat.capacity_percent < gate.policy.pause_below_battery_percent:
            out["status_flags"] |= STATUS_FLAGS["low_battery"]
    storage = _storage(gate)
    if storage and "error" not in storage:
        out["storage_used_mb"] = storage["used_bytes"] // MIB
        out["storage_total_mb"] = storage["total_bytes"] // MIB
    if any(link is not None and link.usable for link in (c.wifi, c.ethernet)):
        out["status_flags"] |= STATUS_FLAGS["wifi_connected"]
        out["connection_type"].append("wifi")
    cell = c.cellular
    registered = cell is None or (cell.registration in ("home", "roaming") and cell.data_up)
    if c.cellular_link is not None and c.cellular_link.usable and registered:
        out["status_flags"] |= STATUS_FLAGS["lte_connected"]
        out["connection_type"].append("4g")
    if c.cellular is not None and c.cellular.signal_dbm is not None:
        out["signal_strength_dbm"] = max(-150, min(0, c.cellular.signal_dbm))
    return out

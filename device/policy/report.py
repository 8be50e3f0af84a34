"""What a person (or the heartbeat) wants to know about the links and the policy, as one dict."""

from __future__ import annotations

import dataclasses
from typing import Any

from device.policy.gate import PolicyGate
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

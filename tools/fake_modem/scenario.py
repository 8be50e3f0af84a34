"""Scenario files for the fake modem: load, validate (clear errors naming file and key), defaults.

Times: `[[registration]]` and `[[signal]]` entries are seconds since the radio came on (start,
reboot, `AT+CFUN=1`, or the SIM unlock); `[[urc]]` and the `[faults]` times are seconds since the
fake modem started (so a reboot does not replay them).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"

SECTIONS: dict[str, tuple[str, ...]] = {
    "identity": ("manufacturer", "model", "revision", "imei", "iccid", "imsi"),
    "sim": ("state", "pin", "tries"),
    "network": ("operator", "mcc_mnc", "act", "band", "lac", "ci", "tz_quarters"),
    "data": ("address",),
    "faults": (
        "leading_ff",
        "garbage_at",
        "reboot_at",
        "reboot_s",
        "reboot_vanishes",
        "vanish_at",
        "vanish_for_s",
        "slow_s",
        "hang",
        "echo_stuck",
    ),
}
LISTS: dict[str, tuple[str, ...]] = {
    "registration": ("at", "stat", "operator", "mcc_mnc", "act"),
    "registration_after_reset": ("at", "stat", "operator", "mcc_mnc", "act"),
    "signal": ("at", "rssi", "ber", "rsrp", "rsrq", "sinr"),
    "urc": ("at", "text"),
}
SIM_STATES = ("ready", "absent", "pin_required", "puk_required")


class ScenarioError(ValueError):
    """A scenario file is missing or wrong; names the file and the key."""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str = ""
    identity: dict[str, Any] = field(default_factory=dict)
    sim: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)
    registration: tuple[dict[str, Any], ...] = ()
    registration_after_reset: tuple[dict[str, Any], ...] = ()
    signal: tuple[dict[str, Any], ...] = ()
    urc: tuple[dict[str, Any], ...] = ()

    def fault(self, key: str, default: Any) -> Any:
        return self.faults.get(key, default)


DEFAULTS: dict[str, dict[str, Any]] = {
    "identity": {
        "manufacturer": "Quectel",
        "model": "EC25",
        "revision": "EC25EFAR06A06M4G",
        "imei": "866425030123456",
        "iccid": "89490200001234567890",
        "imsi": "262011234567890",
    },
    "sim": {"state": "ready", "pin": "1234", "tries": 3},
    "network": {
        "operator": "Telekom.de",
        "mcc_mnc": "26201",
        "act": 7,
        "band": "LTE BAND 3",
        "lac": "0502",
        "ci": "0404736D",
        "tz_quarters": 4,
    },
    "data": {"address": "10.64.12.7"},
}


def resolve(name_or_file: str) -> Path:
    """A scenario name (tools/scenarios/NAME.toml) or a path to a TOML file."""
    path = Path(name_or_file)
    if path.suffix == ".toml" or path.exists():
        return path
    return SCENARIO_DIR / f"{name_or_file}.toml"


def available() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def load(name_or_file: str) -> Scenario:
    path = resolve(name_or_file)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ScenarioError(
            f"{path}: no such scenario (shipped: {', '.join(available())})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from exc
    return from_dict(path.stem, raw, str(path))


def from_dict(name: str, raw: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate raw and fill in defaults (a normal, registered EC25)."""
    for key in raw:
        if key not in SECTIONS and key not in LISTS and key != "description":
            raise ScenarioError(f"{source}: unknown key {key!r}")
    tables = {s: _table(raw, s, keys, source) for s, keys in SECTIONS.items()}
    lists = {s: _list(raw, s, keys, source) for s, keys in LISTS.items()}
    if tables["sim"].get("state", "ready") not in SIM_STATES:
        raise ScenarioError(f"{source}: sim.state must be one of {', '.join(SIM_STATES)}")
    merged = {s: {**DEFAULTS.get(s, {}), **t} for s, t in tables.items()}
    if not lists["registration"]:
        lists["registration"] = ({"at": 0.0, "stat": 2}, {"at": 0.2, "stat": 1})
    if not lists["signal"]:
        lists["signal"] = ({"at": 0.0, "rssi": 20, "ber": 99},)
    return Scenario(name, str(raw.get("description", "")), **merged, **lists)


def _table(raw: dict[str, Any], section: str, keys: tuple[str, ...], source: str) -> dict:
    table = raw.get(section, {})
    if not isinstance(table, dict):
        raise ScenarioError(f"{source}: [{section}] must be a table")
    for key in table:
        if key not in keys:
            raise ScenarioError(
                f"{source}: unknown key {section}.{key} (allowed: {', '.join(keys)})"
            )
    return table


def _list(raw: dict[str, Any], section: str, keys: tuple[str, ...], source: str) -> tuple:
    items = raw.get(section, [])
    if not isinstance(items, list):
        raise ScenarioError(f"{source}: {section} must be an array of tables [[{section}]]")
    for i, item in enumerate(items):
        bad = [k for k in item if k not in keys]
        if bad or "at" not in item:
            raise ScenarioError(
                f"{source}: {section}[{i}]: needs 'at'; allowed keys {', '.join(keys)}; got {bad}"
            )
    return tuple(sorted(items, key=lambda e: float(e["at"])))

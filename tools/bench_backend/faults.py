"""Fault injection: a plan of rules, each firing on chosen call numbers of one endpoint.

A rule: {"endpoint", "kind", "calls": [n, ...] | "every": true, "device"?: id, params...}.
Call numbers count the calls a rule matches (its endpoint, and its device if given) from the
moment the plan was set, starting at 1. The first rule that fires wins; every served fault
is recorded.
"""

from __future__ import annotations

import json
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device.clock import utc_iso
from tools.bench_backend.errors import FaultPlanError

API_ENDPOINTS = ("create_recording", "upload_url", "complete", "heartbeat", "token_refresh")
S3_PUT = "s3_put"
ENDPOINTS = (*API_ENDPOINTS, S3_PUT)

# kind -> (endpoints it applies to, {param: (type, default)})
_API_REPLY_KINDS = {
    "status": {"status": (int, 500), "retry_after": (int, None), "code": (str, None)},
    "drop_after_work": {},
    "broken_json": {"status": (int, 200)},
    "html": {"status": (int, 502)},
    "empty": {"status": (int, 200)},
    "missing_field": {"field": (str, None)},
    "mistyped_field": {"field": (str, None)},
    "huge_body": {"bytes": (int, 8 * 1024 * 1024)},
    "delay": {"seconds": (float, 5.0)},
}
KINDS: dict[str, tuple[tuple[str, ...], dict[str, tuple[type, Any]]]] = {
    **{k: (API_ENDPOINTS, p) for k, p in _API_REPLY_KINDS.items()},
    "status": (ENDPOINTS, _API_REPLY_KINDS["status"]),
    "drop_after_work": (ENDPOINTS, {}),
    "expired_url": (("upload_url",), {"age_seconds": (int, 7200)}),
    "http_url": (("upload_url",), {"host": (str, "s3.bench-backend.invalid")}),
    "cut_put": ((S3_PUT,), {"after_bytes": (int, 0)}),
    "stall_put": ((S3_PUT,), {"seconds": (float, 30.0), "after_bytes": (int, 0)}),
    "slow_down": ((S3_PUT,), {}),
}
S3_KINDS = {"status", "drop_after_work", "cut_put", "stall_put", "slow_down"}
REQUIRED_PARAMS = {"missing_field": "field", "mistyped_field": "field"}
_RULE_KEYS = {"endpoint", "kind", "calls", "every", "device"}


@dataclass(frozen=True)
class FaultRule:
    endpoint: str
    kind: str
    calls: tuple[int, ...] = ()
    every: bool = False
    device: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"endpoint": self.endpoint, "kind": self.kind, **self.params}
        rule.update({"every": True} if self.every else {"calls": list(self.calls)})
        if self.device:
            rule["device"] = self.device
        return rule


@dataclass(frozen=True)
class ServedFault:
    rule: FaultRule
    index: int
    call: int

    def param(self, name: str) -> Any:
        return self.rule.params[name]


def parse_rule(raw: object, index: int) -> FaultRule:
    """Validate one rule; errors name the rule index and the field."""
    where = f"fault rule {index}"
    if not isinstance(raw, dict):
        raise FaultPlanError(where, f"must be an object, got {type(raw).__name__}")
    endpoint, kind = raw.get("endpoint"), raw.get("kind")
    if endpoint not in ENDPOINTS:
        raise FaultPlanError(f"{where}.endpoint", f"{endpoint!r} is not one of {list(ENDPOINTS)}")
    if kind not in KINDS:
        raise FaultPlanError(f"{where}.kind", f"{kind!r} is not one of {sorted(KINDS)}")
    endpoints, param_spec = KINDS[kind]
    if endpoint not in endpoints or (endpoint == S3_PUT and kind not in S3_KINDS):
        raise FaultPlanError(f"{where}.kind", f"{kind!r} does not apply to endpoint {endpoint!r}")
    calls, every = _parse_calls(raw, where)
    device = raw.get("device")
    if device is not None and not isinstance(device, str):
        raise FaultPlanError(f"{where}.device", "must be a device id string")
    params = _parse_params(raw, param_spec, where, kind)
    return FaultRule(endpoint, kind, calls, every, device, params)


def _parse_calls(raw: dict[str, Any], where: str) -> tuple[tuple[int, ...], bool]:
    every = raw.get("every", False)
    if not isinstance(every, bool):
        raise FaultPlanError(f"{where}.every", "must be true or false")
    calls = raw.get("calls", [])
    if isinstance(calls, int) and not isinstance(calls, bool):
        calls = [calls]
    if not isinstance(calls, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in calls
    ):
        raise FaultPlanError(f"{where}.calls", "must be a list of call numbers >= 1")
    if not every and not calls:
        raise FaultPlanError(where, "give 'calls' (e.g. [1, 3]) or 'every': true")
    return tuple(calls), every


def _parse_params(
    raw: dict[str, Any], spec: dict[str, tuple[type, Any]], where: str, kind: str
) -> dict[str, Any]:
    unknown = set(raw) - _RULE_KEYS - set(spec)
    if unknown:
        raise FaultPlanError(where, f"unknown key(s) {sorted(unknown)} for kind {kind!r}")
    params = {}
    for name, (typ, default) in spec.items():
        value = raw.get(name, default)
        if value is None and REQUIRED_PARAMS.get(kind) == name:
            raise FaultPlanError(f"{where}.{name}", f"required for kind {kind!r}")
        if value is not None:
            value = _coerce(value, typ, f"{where}.{name}")
        params[name] = value
    if kind in ("status", "html", "broken_json", "empty"):
        status = params["status"]
        if not 200 <= status <= 599:
            raise FaultPlanError(f"{where}.status", f"{status} is not an HTTP status 200-599")
    return params


def _coerce(value: Any, typ: type, where: str) -> Any:
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, typ) or isinstance(value, bool):
        raise FaultPlanError(where, f"must be {typ.__name__}, got {value!r}")
    if typ in (int, float) and value < 0:
        raise FaultPlanError(where, f"must be >= 0, got {value!r}")
    return value


def parse_plan(raw: object) -> list[FaultRule]:
    """A plan is a list of rules, or {"faults": [...]}."""
    if isinstance(raw, dict) and "faults" in raw:
        raw = raw["faults"]
    if not isinstance(raw, list):
        raise FaultPlanError("fault plan", 'must be a list of rules or {"faults": [...]}')
    return [parse_rule(rule, i) for i, rule in enumerate(raw)]


def load_plan(path: Path) -> list[FaultRule]:
    """Read a plan from a JSON or TOML (`[[faults]]` tables) file."""
    text = path.read_text()
    try:
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise FaultPlanError(str(path), f"cannot parse: {exc}") from exc
    try:
        return parse_plan(raw)
    except FaultPlanError as exc:
        raise FaultPlanError(f"{path}: {exc.where}", str(exc).split(": ", 1)[-1]) from exc


class FaultPlan:
    """The active rules with their call counters, and the log of faults served."""

    def __init__(self, rules: list[FaultRule] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._counters: list[int] = []
        self.served: list[dict[str, Any]] = []
        self.replace(rules or [])

    def replace(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules = list(rules)
            self._counters = [0] * len(rules)

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {**r.to_json(), "matched_calls": n}
                for r, n in zip(self._rules, self._counters, strict=True)
            ]

    def pick(self, endpoint: str, device: str | None) -> ServedFault | None:
        """Count this call on every matching rule; return the first that fires, recorded."""
        chosen = None
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.endpoint != endpoint or (rule.device and rule.device != device):
                    continue
                self._counters[index] += 1
                call = self._counters[index]
                if chosen is None and (rule.every or call in rule.calls):
                    chosen = ServedFault(rule, index, call)
            if chosen:
                self.served.append(
                    {
                        "rule": chosen.index,
                        "endpoint": endpoint,
                        "kind": chosen.rule.kind,
                        "device": device,
                        "call": chosen.call,
                        "params": chosen.rule.params,
                        "at": utc_iso(time.time()),
                    }
                )
        return chosen

    def served_for(self, device: str | None) -> list[dict[str, Any]]:
        with self._lock:
            return [s for s in self.served if device is None or s["device"] == device]

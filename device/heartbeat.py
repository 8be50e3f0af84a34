"""The heartbeat: what the device knows, as a body valid per the contract, sent on a timer and at
state changes; the reply's commands go to the command runner, their results ride the next beat."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from device import contract
from device.commands import CommandLedger, CommandRunner
from device.errors import RecorderError
from device.supervisor import WorkerContext

log = logging.getLogger(__name__)


class HeartbeatBodyError(RecorderError, ValueError):
    """A heartbeat body field is out of the contract's range (names the field)."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"heartbeat field {field_name}: {problem}")
        self.field = field_name


@dataclass(frozen=True)
class DeviceSnapshot:
    """What the device knows right now; None means unknown (the field is left out)."""

    device_state: str = "idle"
    battery_percent: float | None = None
    charging: bool | None = None
    low_battery: bool = False
    storage_used_mb: float | None = None
    storage_total_mb: float | None = None
    storage_full: bool = False
    signal_dbm: int | None = None
    pending_recordings: int | None = None
    connections: tuple[str, ...] = ()
    sync_active: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def build_body(snap: DeviceSnapshot, firmware_version: str, name: str = "") -> dict[str, Any]:
    """The heartbeat body (without command results); raises HeartbeatBodyError if out of contract."""
    body: dict[str, Any] = {
        "firmware_version": firmware_version[:32],
        "device_state": snap.device_state,
    }
    if name:
        body["name"] = name[:64]
    _put(body, "battery_percent", _clamp_int(snap.battery_percent, 0, 100))
    _put(body, "storage_used_mb", _mb(snap.storage_used_mb))
    _put(body, "storage_total_mb", _mb(snap.storage_total_mb))
    _put(body, "signal_strength_dbm", snap.signal_dbm)
    _put(body, "pending_recordings", snap.pending_recordings)
    body["status_flags"] = status_flags(snap)
    body["connection_type"] = [c for c in contract.CONNECTION_TYPES if c in snap.connections]
    validate_body(body)
    return body


def status_flags(snap: DeviceSnapshot) -> int:
    bits = contract.STATUS_FLAGS
    flags = 0
    flags |= bits["charging"] if snap.charging else 0
    flags |= bits["low_battery"] if snap.low_battery else 0
    flags |= bits["storage_full"] if snap.storage_full else 0
    flags |= bits["wifi_connected"] if "wifi" in snap.connections else 0
    flags |= bits["lte_connected"] if "4g" in snap.connections else 0
    flags |= bits["sync_active"] if snap.sync_active else 0
    return flags


def validate_body(body: dict[str, Any]) -> None:
    """Check every field against device/contract.py; raise HeartbeatBodyError naming the first bad one."""
    for key, value in body.items():
        if key in contract.HEARTBEAT_NUMBER_FIELDS:
            _check_number(key, value)
        elif key in contract.HEARTBEAT_STRING_FIELDS:
            if not isinstance(value, str) or len(value) > contract.HEARTBEAT_STRING_FIELDS[key]:
                raise HeartbeatBodyError(
                    key,
                    f"{value!r} is not a string of at most {contract.HEARTBEAT_STRING_FIELDS[key]} chars",
                )
        elif key == "connection_type":
            if not isinstance(value, list) or any(
                v not in contract.CONNECTION_TYPES for v in value
            ):
                raise HeartbeatBodyError(
                    key, f"{value!r} must be a list of {contract.CONNECTION_TYPES}"
                )
        elif key != contract.HEARTBEAT_RESULTS_FIELD:
            raise HeartbeatBodyError(key, "not a heartbeat field of the contract")
    if body.get("device_state", "idle") not in contract.DEVICE_STATES:
        raise HeartbeatBodyError(
            "device_state", f"{body['device_state']!r} not in {contract.DEVICE_STATES}"
        )


def _check_number(key: str, value: Any) -> None:
    lo, hi = contract.HEARTBEAT_NUMBER_FIELDS[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HeartbeatBodyError(key, f"{value!r} is not a number")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise HeartbeatBodyError(key, f"{value!r} is outside {lo}..{hi}")


def _put(body: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        body[key] = value


def _clamp_int(value: float | None, lo: int, hi: int) -> int | None:
    return None if value is None else max(lo, min(hi, round(value)))


def _mb(value: float | None) -> float | None:
    return None if value is None else round(max(0.0, value), 1)


def _commands_of(reply: Any) -> Any:
    """The commands of an ApiClient HeartbeatReply (or of a plain reply object)."""
    if isinstance(reply, dict):
        return reply.get(contract.HEARTBEAT_COMMANDS_FIELD)
    commands = getattr(reply, "commands", None)
    return None if commands is None else list(commands)


class HeartbeatApi(Protocol):
    def heartbeat(self, body: dict[str, Any], device_id: str = "me") -> Any: ...


class HeartbeatWorker:
    """Beats every `interval_s`, at once when `wake` is set (a state change), and retries sooner
    after a failure; hands the reply's commands to the runner and reports results on the next beat."""

    def __init__(
        self,
        api: HeartbeatApi,
        snapshot: Callable[[], DeviceSnapshot],
        ledger: CommandLedger,
        runner: CommandRunner,
        *,
        interval_s: float,
        retry_s: float,
        firmware_version: str,
        name: str = "",
        device_id: str = "me",
    ) -> None:
        self.api, self.snapshot, self.ledger, self.runner = api, snapshot, ledger, runner
        self.interval_s, self.retry_s = interval_s, min(retry_s, interval_s)
        self.firmware_version, self.name, self.device_id = firmware_version, name, device_id
        self.wake = threading.Event()
        self.sent = 0
        self.failures = 0
        self.last_body: dict[str, Any] | None = None

    def run(self, ctx: WorkerContext) -> None:
        while not ctx.stopping:
            ok = self.beat_once()
            ctx.beat()
            wait = self.interval_s if ok else self.retry_s
            ctx.beat(quiet_s=wait)
            self.wake.wait(wait)
            self.wake.clear()
            ctx.beat()

    def beat_once(self) -> bool:
        """Send one heartbeat; run any new commands; True if the server answered."""
        body = build_body(self.snapshot(), self.firmware_version, self.name)
        results = self.ledger.unreported()
        if results:
            body[contract.HEARTBEAT_RESULTS_FIELD] = results
        try:
            reply = self.api.heartbeat(body, device_id=self.device_id)
        except RecorderError as exc:
            self.failures += 1
            log.warning("heartbeat failed (%d in a row): %s", self.failures, exc)
            return False
        self.failures, self.last_body = 0, body
        self.sent += 1
        if results:
            self.ledger.mark_reported([r["id"] for r in results])
        log.debug("heartbeat sent: %s", body)
        if self.runner.handle(_commands_of(reply)):
            self.wake.set()  # report the results (and the new state) right away
        return True

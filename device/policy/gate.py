"""The real upload gate: gathers a `Conditions` snapshot from injected inputs and asks the policy.

Implements device.gate.UploadGate. Inputs are injected (clock, link reader, battery reader, cellular
state), so tests drive it without sleeping. The last decision is kept in policy.db, so `recorder
status` (another process) can show why uploads are paused.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from device.gate import GateDecision
from device.policy.budget import CellularBudget
from device.policy.inputs import CellularState, Conditions
from device.policy.rules import UploadPolicy
from hal.errors import HalError
from hal.net import LinkNotFound, LinkState, NetBackend
from hal.power import BatteryState, PowerBackend

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Interfaces:
    """Which interface plays which role; empty: that link does not exist on this device."""

    wifi: str = ""
    ethernet: str = ""
    cellular: str = ""


class PolicyGate:
    """UploadGate over live inputs; the file under way remembers its link between chunks."""

    def __init__(
        self,
        policy: UploadPolicy,
        net: NetBackend,
        interfaces: Interfaces,
        budget: CellularBudget,
        power: PowerBackend | None = None,
        cellular: Callable[[], CellularState | None] = lambda: None,
        clock: Clock = utc_now,
        storage_dir: str | None = None,
        blocked: Callable[[], str] = lambda: "",
    ) -> None:
        self.blocked = blocked  # a reason no link can fix, e.g. `token lost: rebind needed`
        self.policy = policy
        self.storage_dir = storage_dir
        self.net = net
        self.interfaces = interfaces
        self.budget = budget
        self.power = power
        self.cellular = cellular
        self.clock = clock
        self._lock = threading.Lock()
        self._current_kind: str | None = None
        self._last: GateDecision | None = None
        self._changed = threading.Condition()
        self._generation = 0

    def notify_change(self) -> None:
        """An input changed (a modem event, a link event): wake whoever waits in `wait_change`."""
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def wait_change(self, timeout: float) -> bool:
        """Sleep until an input changes or `timeout` passes (a paused uploader's nap); True if woken."""
        with self._changed:
            start = self._generation
            return self._changed.wait_for(lambda: self._generation != start, timeout)

    def before_file(self, size_bytes: int) -> GateDecision:
        c = self.conditions()
        blocked = self.blocked()
        decision = (
            GateDecision(False, blocked) if blocked else self.policy.decide_file(c, size_bytes)
        )
        with self._lock:
            self._current_kind = _kind_of(c, decision.link) if decision.allowed else None
        return self._record(c.now, decision)

    def between_chunks(self, bytes_sent: int, size_bytes: int) -> GateDecision:
        with self._lock:
            kind = self._current_kind
        if kind is None:
            return self.before_file(size_bytes - bytes_sent)
        c = self.conditions()
        return self._record(c.now, self.policy.decide_chunk(c, kind, size_bytes - bytes_sent))

    def conditions(self) -> Conditions:
        """Read every input once (and count cellular bytes): one consistent snapshot."""
        now = self.clock()
        cellular_link = self._link(self.interfaces.cellular)
        used = self.budget.sample(now, cellular_link.total_bytes if cellular_link else None)
        return Conditions(
            now=now,
            wifi=self._link(self.interfaces.wifi),
            ethernet=self._link(self.interfaces.ethernet),
            cellular_link=cellular_link,
            cellular=self.cellular() if self.interfaces.cellular else None,
            battery=self._battery(),
            cellular_used_bytes=used,
            roles=frozenset(k for k, name in dataclasses.asdict(self.interfaces).items() if name),
        )

    def sample(self) -> int:
        """Count the cellular interface now (heartbeat and idle ticks call this); today's bytes."""
        return self.conditions().cellular_used_bytes

    def status(self) -> dict[str, Any]:
        """What `recorder status` and the heartbeat show: the last decision and today's budget."""
        c = self.conditions()
        last = self._last or self.policy.decide_file(c, 0)
        return {
            "uploads": "allowed" if last.allowed else "paused",
            "reason": last.reason,
            "link": last.link,
            "mode": self.policy.mode,
            "cellular_used_bytes": c.cellular_used_bytes,
            "daily_cellular_bytes": self.policy.daily_cellular_bytes,
        }

    def _record(self, now: datetime, decision: GateDecision) -> GateDecision:
        with self._lock:
            changed = self._last is None or (
                self._last.allowed,
                self._last.reason,
                self._last.link,
            ) != (
                decision.allowed,
                decision.reason,
                decision.link,
            )
            self._last = decision
        if changed:
            if decision.allowed:
                log.info("uploads allowed over %s (%s)", decision.link, decision.source_address)
            else:
                log.info("uploads paused: %s", decision.reason)
            with self.budget.lock:  # one connection, shared with the budget's writes
                save_decision(self.budget.conn, now, decision)
        return decision

    def _link(self, name: str) -> LinkState | None:
        if not name:
            return None
        try:
            return self.net.link(name)
        except LinkNotFound:
            return None
        except HalError as exc:
            log.warning("cannot read link %s: %s", name, exc)
            return None

    def _battery(self) -> BatteryState | None:
        if self.power is None:
            return None
        try:
            return self.power.battery()
        except HalError as exc:
            log.warning("cannot read the battery: %s", exc)
            return None


def _kind_of(c: Conditions, link_name: str | None) -> str | None:
    for kind in ("wifi", "ethernet", "cellular"):
        link = c.link(kind)
        if link is not None and link.name == link_name:
            return kind
    return None


def save_decision(conn: sqlite3.Connection, now: datetime, decision: GateDecision) -> None:
    """Keep the last decision for `recorder status` in another process; logged, never fatal."""
    try:
        with conn:
            conn.execute(
                "INSERT OR REPLACE INTO gate_state(id, allowed, reason, link, at) VALUES (1, ?, ?, ?, ?)",
                (int(decision.allowed), decision.reason, decision.link, now.isoformat()),
            )
    except sqlite3.Error as exc:
        log.warning("cannot record the gate decision in policy.db: %s", exc)


def load_decision(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The last decision a running agent recorded, or None."""
    row = conn.execute("SELECT allowed, reason, link, at FROM gate_state WHERE id = 1").fetchone()
    if row is None:
        return None
    return {
        "uploads": "allowed" if row[0] else "paused",
        "reason": row[1],
        "link": row[2],
        "at": row[3],
    }

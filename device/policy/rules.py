"""The upload policy as a value: built once from config, asked with a `Conditions` snapshot.

Pure: no clock, no I/O. `decide_file` answers before a file, `decide_chunk` between chunks of a file
already under way on a given link (a presigned PUT cannot resume, so only safety and cost stop it).
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from device.config import ConfigError, UploadConfig
from device.gate import GateDecision
from device.policy.inputs import Conditions
from device.policy.window import OffPeakWindow, parse_hhmm, seconds_to_midnight

MIB = 1024 * 1024
# A started file is never cut for the budget (that would waste what it spent), so admission
# counts the file with its protocol overhead (measured 8% on a veth, per packet; see README).
OVERHEAD_PERCENT = 10
OVERHEAD_FIXED_BYTES = 64 * 1024
# Link kinds in the order each mode tries them; ethernet is unmetered like WiFi.
MODE_ORDER: dict[str, tuple[str, ...]] = {
    "auto": ("ethernet", "wifi", "cellular"),
    "wifi_preferred": ("wifi", "ethernet", "cellular"),
    "wifi_only": ("wifi", "ethernet"),
    "4g_preferred": ("cellular", "wifi", "ethernet"),
    "4g_only": ("cellular",),
    "ble_only": (),
}


@dataclass(frozen=True)
class UploadPolicy:
    mode: str = "auto"
    allow_roaming: bool = False
    daily_cellular_bytes: int = 0  # 0: unlimited
    pause_below_battery_percent: int = 0  # 0: never pause for the battery
    window: OffPeakWindow | None = None
    zone: ZoneInfo = ZoneInfo("UTC")

    @classmethod
    def from_config(cls, upload: UploadConfig, source: str = "<config>") -> UploadPolicy:
        zone = ZoneInfo(upload.timezone)
        if bool(upload.off_peak_start) != bool(upload.off_peak_end):
            missing = "upload.off_peak_end" if upload.off_peak_start else "upload.off_peak_start"
            raise ConfigError(
                missing, source, "the off-peak window needs both start and end", "HH:MM"
            )
        window = None
        if upload.off_peak_start:
            window = OffPeakWindow(
                parse_hhmm(upload.off_peak_start), parse_hhmm(upload.off_peak_end), zone
            )
        return cls(
            mode=upload.mode,
            allow_roaming=upload.allow_roaming,
            daily_cellular_bytes=upload.daily_cellular_mb * MIB,
            pause_below_battery_percent=upload.pause_below_battery_percent,
            window=window,
            zone=zone,
        )

    def decide_file(self, c: Conditions, size_bytes: int) -> GateDecision:
        """May a file of `size_bytes` start now, and over which link?"""
        paused = self._battery_reason(c)
        if paused:
            return GateDecision(False, paused)
        if self.window and not self.window.contains(c.now):
            wait = self.window.seconds_until_open(c.now)
            return GateDecision(
                False, f"outside off-peak window {self.window.describe()}", retry_after_s=wait
            )
        return self._choose_link(c, size_bytes)

    def decide_chunk(self, c: Conditions, link_kind: str, bytes_left: int) -> GateDecision:
        """May the file under way on `link_kind` go on? (The off-peak window does not cut a file.)"""
        paused = self._battery_reason(c)
        if paused:
            return GateDecision(False, paused)
        reason = self._link_reason(c, link_kind)
        link = c.link(link_kind)
        if reason or link is None:
            return GateDecision(
                False, reason or f"{link_kind} link gone", link=link.name if link else None
            )
        return GateDecision(True, "", source_address=link.source_address, link=link.name)

    def _choose_link(self, c: Conditions, size_bytes: int) -> GateDecision:
        order = MODE_ORDER[self.mode]
        if not order:
            return GateDecision(False, f"mode {self.mode}: no direct upload")
        refusals: list[tuple[str, float | None]] = []
        for kind in order:
            reason, retry = self._link_reason(c, kind), None
            if not reason and kind == "cellular":
                reason = self._budget_reason(c, size_bytes)
                # only time can help when no other link may appear; else ask again soon
                retry = (
                    seconds_to_midnight(c.now, self.zone) if reason and len(order) == 1 else None
                )
            if not reason:
                link = c.link(kind)
                assert link is not None
                return GateDecision(True, "", source_address=link.source_address, link=link.name)
            if c.link(kind) is not None:
                refusals.append((reason, retry))  # an absent link is not news unless all are
        if not refusals:  # nothing present: name the configured roles that are missing
            missing = [k for k in order if k in c.roles] or list(order)
            refusals = [(f"no {' or '.join(missing)} link", None)]
        retries = [r for _, r in refusals]
        retry_after = min(retries) if None not in retries else None  # type: ignore[type-var]
        return GateDecision(False, "; ".join(r for r, _ in refusals), retry_after_s=retry_after)

    def _battery_reason(self, c: Conditions) -> str:
        bat = c.battery
        if bat is None or not bat.present or bat.capacity_percent is None or bat.charging:
            return ""
        if bat.capacity_percent < self.pause_below_battery_percent:
            return f"battery low ({bat.capacity_percent}% < {self.pause_below_battery_percent}%, not charging)"
        return ""

    def _link_reason(self, c: Conditions, kind: str) -> str:
        link = c.link(kind)
        if link is None:
            return f"no {kind} link"
        if not link.up:
            return f"{kind} down ({link.name})"
        if not link.addresses:
            return f"{kind} has no address ({link.name})"
        return self.cellular_reason(c) if kind == "cellular" else ""

    def cellular_reason(self, c: Conditions) -> str:
        cell = c.cellular
        if cell is None:
            return ""
        if cell.registration == "roaming" and not self.allow_roaming:
            return "cellular roaming not allowed"
        if cell.registration not in ("home", "roaming"):
            return f"cellular not registered ({cell.registration})"
        if not cell.data_up:
            return "cellular data session down"
        return ""

    def _budget_reason(self, c: Conditions, size_bytes: int) -> str:
        if not self.daily_cellular_bytes:
            return ""
        left = max(0, self.daily_cellular_bytes - c.cellular_used_bytes)
        needs = wire_estimate(size_bytes)
        if needs > left:
            return f"daily cellular budget: {_mb(left)} MB left, file needs {_mb(needs)} MB"
        return ""


def wire_estimate(size_bytes: int) -> int:
    """Bytes a file costs on the wire: payload plus TCP/IP, TLS, HTTP and API-call overhead."""
    return size_bytes + size_bytes * OVERHEAD_PERCENT // 100 + OVERHEAD_FIXED_BYTES


def _mb(n: int) -> str:
    return f"{n / MIB:.1f}"

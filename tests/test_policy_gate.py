"""PolicyGate over live inputs: sim links and battery in state files, a real policy.db, an injected clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from device.config import UploadConfig
from device.policy import (
    CellularBudget,
    CellularState,
    Interfaces,
    PolicyGate,
    UploadPolicy,
    load_decision,
)
from device.policy.budget import connect
from device.policy.rules import MIB
from hal.net.sim import SimNet
from hal.power.sim import SimPower

T0 = datetime(2026, 6, 1, 21, 0, tzinfo=UTC)  # 23:00 in Europe/Berlin


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Cell:
    state: CellularState | None = field(default_factory=lambda: CellularState("home", True))

    def __call__(self) -> CellularState | None:
        return self.state


@dataclass
class Rig:
    gate: PolicyGate
    net: SimNet
    power: SimPower
    clock: Clock
    cell: Cell


def make_rig(tmp_path, boot_id: str = "boot-1", **upload: object) -> Rig:
    net, power = SimNet(tmp_path / "links.json"), SimPower(tmp_path / "power.json")
    if not (tmp_path / "links.json").exists():
        net.update("wwan0", kind="cellular", addresses=["127.0.0.1"], rx_bytes=1000, tx_bytes=0)
        power.set_battery(capacity_percent=80, status="discharging")
    policy = UploadPolicy.from_config(UploadConfig(**upload))  # type: ignore[arg-type]
    budget = CellularBudget(connect(tmp_path / "policy.db"), policy.zone, boot_id=boot_id)
    clock, cell = Clock(), Cell()
    gate = PolicyGate(policy, net, Interfaces("wlan0", "", "wwan0"), budget, power, cell, clock)
    return Rig(gate, net, power, clock, cell)


def spend(rig: Rig, nbytes: int) -> None:
    """Traffic on the simulated cellular interface (its kernel counters moving)."""
    link = rig.net.link("wwan0")
    rig.net.update("wwan0", tx_bytes=link.tx_bytes + nbytes)


def test_budget_stops_before_the_file_that_would_exceed_and_resumes_after_midnight(
    tmp_path,
) -> None:
    rig = make_rig(tmp_path, mode="4g_only", daily_cellular_mb=10, timezone="Europe/Berlin")
    assert rig.gate.before_file(4 * MIB).allowed  # first sight: baseline only
    spend(rig, 4 * MIB + 30_000)
    assert rig.gate.before_file(4 * MIB).allowed  # 4.03 used, 4 + overhead fits in 5.97
    spend(rig, 4 * MIB + 30_000)
    d = rig.gate.before_file(2 * MIB)  # 8.06 used: 1.94 left, 2 MB + overhead does not fit
    assert not d.allowed and d.reason.startswith("daily cellular budget: 1.9 MB left")
    assert d.retry_after_s == 3600  # local midnight in Berlin is 22:00 UTC
    assert rig.gate.before_file(MIB).allowed  # a smaller file still fits
    rig.clock.now = T0 + timedelta(seconds=d.retry_after_s)
    assert rig.gate.before_file(2 * MIB).allowed
    assert rig.gate.status()["cellular_used_bytes"] == 0


def test_budget_survives_restart_and_counts_traffic_while_down(tmp_path) -> None:
    rig = make_rig(tmp_path, daily_cellular_mb=10)
    rig.gate.sample()
    spend(rig, 3 * MIB)
    assert rig.gate.sample() == 3 * MIB
    rig.gate.budget.flush(rig.clock())
    spend(rig, MIB)  # traffic while the agent is stopped: the kernel still counts
    again = make_rig(tmp_path, daily_cellular_mb=10)
    assert again.gate.sample() == 4 * MIB


def test_reboot_and_recreated_interface_count_from_zero(tmp_path) -> None:
    rig = make_rig(tmp_path)
    rig.gate.sample()
    spend(rig, 5000)
    assert rig.gate.sample() == 5000
    rig.gate.budget.flush(rig.clock())
    rig.net.update("wwan0", rx_bytes=0, tx_bytes=700)  # modem re-enumerated: counters restart
    assert rig.gate.sample() == 5700
    rig.gate.budget.flush(rig.clock())
    rebooted = make_rig(tmp_path, boot_id="boot-2")  # new boot: the kernel counted 700 since boot
    assert rebooted.gate.sample() == 6400


def test_roaming_pauses_and_home_resumes(tmp_path) -> None:
    rig = make_rig(tmp_path, mode="4g_only")
    assert rig.gate.before_file(100).link == "wwan0"
    rig.cell.state = CellularState("roaming", True)
    assert rig.gate.between_chunks(10, 100).reason == "cellular roaming not allowed"
    assert rig.gate.before_file(100).reason == "cellular roaming not allowed"
    rig.cell.state = CellularState("home", True)
    assert rig.gate.before_file(100).allowed


def test_wifi_appearing_takes_over_for_the_next_file(tmp_path) -> None:
    rig = make_rig(tmp_path, mode="wifi_preferred")
    assert rig.gate.before_file(100).link == "wwan0"
    rig.net.update("wlan0", kind="wifi", addresses=["127.0.0.2"], ssid="office")
    assert rig.gate.between_chunks(50, 100).link == "wwan0"  # the file under way finishes
    d = rig.gate.before_file(100)
    assert d.link == "wlan0" and d.source_address == "127.0.0.2"
    rig.net.update("wlan0", operstate="down")
    assert not rig.gate.between_chunks(50, 100).allowed  # its link went away: stop, retry later


def test_low_battery_pauses_and_charging_resumes(tmp_path) -> None:
    rig = make_rig(tmp_path, pause_below_battery_percent=20)
    rig.power.set_battery(capacity_percent=12)
    assert rig.gate.before_file(1).reason == "battery low (12% < 20%, not charging)"
    rig.power.set_battery(status="charging")
    assert rig.gate.before_file(1).allowed
    rig.power.set_battery(status="discharging")
    assert not rig.gate.between_chunks(1, 2).allowed


def test_last_decision_is_kept_for_status_in_another_process(tmp_path) -> None:
    rig = make_rig(tmp_path, mode="4g_only")
    rig.cell.state = CellularState("searching", False)
    rig.gate.before_file(1)
    seen = load_decision(connect(tmp_path / "policy.db"))
    assert seen is not None
    assert seen["uploads"] == "paused" and seen["reason"] == "cellular not registered (searching)"
    assert rig.gate.status()["reason"] == "cellular not registered (searching)"


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland", "America/Los_Angeles"])
def test_budget_day_is_the_local_day(tmp_path, zone: str) -> None:
    budget = CellularBudget(connect(tmp_path / "p.db"), ZoneInfo(zone), boot_id="b")
    budget.sample(T0, 0)
    budget.sample(T0, 500)
    local_midnight = datetime.combine(
        T0.astimezone(ZoneInfo(zone)).date() + timedelta(days=1),
        datetime.min.time(),
        ZoneInfo(zone),
    )
    assert budget.used(local_midnight - timedelta(microseconds=1)) == 500
    assert budget.used(local_midnight) == 0


def test_lost_token_closes_the_gate_until_the_device_is_provisioned_again(tmp_path) -> None:
    from device.tokens import TOKEN_LOST, TokenState, TokenStateFile, file_id
    from device.vault import FileKeyProvider, Vault

    vault = Vault(tmp_path / "token.sealed", FileKeyProvider(tmp_path / "vault.key"))
    vault.seal("dtok_old")
    states = TokenStateFile(vault.path)
    states.save(TokenState("lost", "all refused", None, file_id(vault.path)))
    rig = make_rig(tmp_path, mode="4g_only")
    rig.gate.blocked = states.problem
    assert rig.gate.before_file(10).reason == TOKEN_LOST
    vault.seal("dtok_new")
    assert rig.gate.before_file(10).allowed


def test_heartbeat_fields_from_battery_storage_and_links(tmp_path) -> None:
    from device.contract import STATUS_FLAGS
    from device.policy.report import heartbeat_fields

    rig = make_rig(tmp_path, pause_below_battery_percent=20)
    rig.gate.storage_dir = str(tmp_path)
    rig.power.set_battery(capacity_percent=12, status="charging")
    rig.cell.state = CellularState("roaming", True, -101)
    fields = heartbeat_fields(rig.gate)
    assert fields["battery_percent"] == 12 and fields["signal_strength_dbm"] == -101
    assert fields["status_flags"] == (
        STATUS_FLAGS["charging"] | STATUS_FLAGS["low_battery"] | STATUS_FLAGS["lte_connected"]
    )
    assert fields["connection_type"] == ["4g"] and fields["storage_total_mb"] > 0
    rig.net.update("wlan0", kind="wifi", addresses=["127.0.0.2"])
    rig.cell.state = CellularState("searching", False)
    fields = heartbeat_fields(rig.gate)
    assert fields["connection_type"] == ["wifi"] and "signal_strength_dbm" not in fields

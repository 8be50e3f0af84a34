"""hal/power: battery from a power_supply tree, storage from the real statvfs, the sim backend.

This machine has no battery, so the sysfs backend reads a power_supply tree written into a temporary
directory in the kernel's layout (the files a fuel gauge driver exposes); the parsing is the real code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hal.power import BatteryState, PowerStateError, open_backend
from hal.power.sim import SimPower
from hal.power.sysfs import SysfsPower


def supply(root: Path, name: str, **files: str) -> None:
    d = root / name
    d.mkdir(parents=True)
    for key, value in files.items():
        (d / key).write_text(value + "\n")


def test_battery_from_sysfs_tree(tmp_path) -> None:
    supply(tmp_path, "AC", type="Mains", online="0")
    supply(tmp_path, "BAT0", type="Battery", present="1", capacity="42", status="Discharging")
    power = SysfsPower(str(tmp_path))
    assert power.battery() == BatteryState(True, 42, "discharging", external_power=False)
    (tmp_path / "AC" / "online").write_text("1\n")
    bat = power.battery()
    assert bat is not None and bat.external_power and bat.charging


@pytest.mark.parametrize(
    "files, expect",
    [
        ({"status": "Charging", "capacity": "5"}, BatteryState(True, 5, "charging")),
        ({"status": "Not charging", "capacity": "150"}, BatteryState(True, 100, "not_charging")),
        ({"status": "Weird", "capacity": "x"}, BatteryState(True, None, "unknown")),
        ({"present": "0"}, BatteryState(False, None, "unknown")),
    ],
)
def test_battery_odd_gauges(tmp_path, files: dict[str, str], expect: BatteryState) -> None:
    supply(tmp_path, "battery", type="Battery", **files)
    assert SysfsPower(str(tmp_path)).battery() == expect


def test_no_battery_on_mains_and_on_this_machine(tmp_path) -> None:
    supply(tmp_path, "usb", type="USB", online="1")
    assert SysfsPower(str(tmp_path)).battery() is None
    assert SysfsPower(str(tmp_path / "absent")).battery() is None
    SysfsPower().battery()  # the real /sys/class/power_supply: must not raise, battery or not


def test_storage_is_statvfs_of_the_spool_dir(tmp_path) -> None:
    st = open_backend("sysfs").storage(str(tmp_path))
    vfs = os.statvfs(tmp_path)
    assert st.total_bytes == vfs.f_blocks * vfs.f_frsize
    assert 0 < st.free_bytes <= st.total_bytes and st.used_bytes == st.total_bytes - st.free_bytes
    with pytest.raises(OSError, match="cannot statvfs"):
        open_backend("sysfs").storage(str(tmp_path / "gone"))


def test_sim_battery_flips(tmp_path) -> None:
    path = tmp_path / "power.json"
    sim = SimPower(path)
    sim.set_battery(capacity_percent=9, status="discharging")
    reader = open_backend("sim", str(path))
    assert reader.battery() == BatteryState(True, 9, "discharging")
    sim.set_battery(status="charging")
    assert reader.battery().charging  # type: ignore[union-attr]
    path.write_text('{"battery": null, "storage": {"total_bytes": 100, "free_bytes": 40}}')
    assert reader.battery() is None
    assert reader.storage("/x").used_bytes == 60


@pytest.mark.parametrize(
    "content, problem",
    [
        ('{"battery": {"capacity_percent": 101}}', "battery.capacity_percent: 101 not in 0..100"),
        ('{"battery": {"status": "Charging"}}', "battery.status: not one of"),
        ('{"battery": {"capacity_percent": true}}', "battery.capacity_percent: wrong type bool"),
        ('{"battery": {"volts": 3}}', "battery.volts: unknown field"),
        ("[]", "must be a JSON object"),
    ],
)
def test_sim_errors_name_file_and_field(tmp_path, content: str, problem: str) -> None:
    path = tmp_path / "power.json"
    path.write_text(content)
    with pytest.raises(PowerStateError) as err:
        SimPower(path).battery()
    assert str(path) in str(err.value) and problem in str(err.value)

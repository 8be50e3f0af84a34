"""The upload policy as a pure value: modes, roaming, registration, battery, off-peak window, budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from device.config import ConfigError, UploadConfig
from device.policy import CellularState, Conditions, UploadPolicy, wire_estimate
from device.policy.rules import MIB
from hal.net import LinkState
from hal.power import BatteryState

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WIFI = LinkState("wlan0", "wifi", "up", True, ("192.168.1.20",))
ETH = LinkState("eth0", "ethernet", "up", True, ("10.0.0.5",))
CELL = LinkState("wwan0", "cellular", "up", True, ("100.64.1.9",))
HOME = CellularState("home", True, -80)


def cond(**kw: object) -> Conditions:
    base = dict(now=NOON, wifi=WIFI, cellular_link=CELL, cellular=HOME)
    base.update(kw)
    return Conditions(**base)  # type: ignore[arg-type]


def policy(**kw: object) -> UploadPolicy:
    return UploadPolicy.from_config(UploadConfig(**kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "mode, conditions, link",
    [
        ("auto", cond(ethernet=ETH), "eth0"),
        ("auto", cond(), "wlan0"),
        ("auto", cond(wifi=None), "wwan0"),
        ("wifi_preferred", cond(ethernet=ETH), "wlan0"),
        ("wifi_preferred", cond(wifi=replace(WIFI, operstate="down")), "wwan0"),
        ("wifi_only", cond(wifi=None, ethernet=ETH), "eth0"),
        ("4g_preferred", cond(), "wwan0"),
        ("4g_preferred", cond(cellular=CellularState("searching", False)), "wlan0"),
        ("4g_only", cond(), "wwan0"),
    ],
)
def test_mode_picks_link(mode: str, conditions: Conditions, link: str) -> None:
    d = policy(mode=mode).decide_file(conditions, 1000)
    assert d.allowed and d.link == link
    assert (
        d.source_address
        == conditions.link(
            {"eth0": "ethernet", "wlan0": "wifi", "wwan0": "cellular"}[link]
        ).source_address
    )


@pytest.mark.parametrize(
    "mode, conditions, reason",
    [
        ("wifi_only", cond(wifi=None), "no wifi or ethernet link"),
        ("4g_only", cond(cellular_link=None), "no cellular link"),
        ("4g_only", cond(cellular=CellularState("roaming", True)), "cellular roaming not allowed"),
        (
            "4g_only",
            cond(cellular=CellularState("denied", False)),
            "cellular not registered (denied)",
        ),
        ("4g_only", cond(cellular=CellularState("home", False)), "cellular data session down"),
        (
            "4g_only",
            cond(cellular_link=replace(CELL, addresses=())),
            "cellular has no address (wwan0)",
        ),
        ("ble_only", cond(), "mode ble_only: no direct upload"),
    ],
)
def test_pause_reasons(mode: str, conditions: Conditions, reason: str) -> None:
    d = policy(mode=mode).decide_file(conditions, 1000)
    assert not d.allowed and d.reason == reason and d.source_address is None


def test_roaming_allowed_when_configured() -> None:
    roaming = cond(wifi=None, cellular=CellularState("roaming", True))
    assert not policy().decide_file(roaming, 1).allowed
    assert policy(allow_roaming=True).decide_file(roaming, 1).link == "wwan0"


def test_battery_low_pauses_unless_charging() -> None:
    p = policy(pause_below_battery_percent=20)
    low = BatteryState(True, 19, "discharging")
    d = p.decide_file(cond(battery=low), 1)
    assert not d.allowed and d.reason == "battery low (19% < 20%, not charging)"
    assert p.decide_file(cond(battery=replace(low, status="charging")), 1).allowed
    assert p.decide_file(cond(battery=replace(low, external_power=True)), 1).allowed
    assert p.decide_file(cond(battery=replace(low, capacity_percent=20)), 1).allowed
    assert not p.decide_chunk(cond(battery=low), "wifi", 1).allowed


def test_budget_refuses_a_file_that_does_not_fit() -> None:
    p = policy(mode="4g_only", daily_cellular_mb=10)
    left = 10 * MIB - 4 * MIB
    fits = max(n for n in range(left - 2 * MIB, left, 1024) if wire_estimate(n) <= left)
    assert p.decide_file(cond(cellular_used_bytes=4 * MIB), fits).allowed
    assert not p.decide_file(cond(cellular_used_bytes=4 * MIB), fits + 1024).allowed
    d = p.decide_file(cond(cellular_used_bytes=4 * MIB), left)
    assert not d.allowed and d.reason.startswith("daily cellular budget: 6.0 MB left")
    assert d.retry_after_s == 12 * 3600  # next UTC midnight: only time can help in 4g_only
    d = policy(daily_cellular_mb=10).decide_file(cond(wifi=None, cellular_used_bytes=4 * MIB), left)
    assert not d.allowed and d.retry_after_s is None  # WiFi may appear any moment: ask again soon
    # WiFi is not metered: the same file goes over WiFi in auto mode
    assert (
        policy(daily_cellular_mb=10).decide_file(cond(cellular_used_bytes=10 * MIB), left).link
        == "wlan0"
    )


def test_chunks_go_on_while_the_link_holds() -> None:
    p = policy(mode="4g_only")
    assert p.decide_chunk(cond(), "cellular", 1).allowed
    d = p.decide_chunk(cond(cellular=CellularState("roaming", True)), "cellular", 1)
    assert not d.allowed and d.reason == "cellular roaming not allowed"
    assert not p.decide_chunk(cond(wifi=None), "wifi", 1).allowed


@pytest.mark.parametrize(
    "zone, start, end, utc_hhmm, inside",
    [
        ("UTC", "22:00", "06:00", (23, 30), True),
        ("UTC", "22:00", "06:00", (5, 59), True),
        ("UTC", "22:00", "06:00", (6, 0), False),
        ("UTC", "22:00", "06:00", (21, 59), False),
        ("UTC", "01:00", "05:00", (3, 0), True),
        ("Europe/Berlin", "22:00", "06:00", (20, 30), True),  # 22:30 CEST
        ("Europe/Berlin", "22:00", "06:00", (19, 30), False),  # 21:30 CEST
        ("America/New_York", "22:00", "06:00", (3, 0), True),  # 23:00 EDT the day before
        ("America/New_York", "22:00", "06:00", (11, 0), False),  # 07:00 EDT
        ("Asia/Kolkata", "00:30", "01:30", (19, 15), True),  # 00:45 IST, next local day
        ("UTC", "08:00", "08:00", (13, 0), True),  # start == end: all day
    ],
)
def test_off_peak_window(
    zone: str, start: str, end: str, utc_hhmm: tuple[int, int], inside: bool
) -> None:
    p = policy(off_peak_start=start, off_peak_end=end, timezone=zone)
    now = NOON.replace(hour=utc_hhmm[0], minute=utc_hhmm[1])
    d = p.decide_file(cond(now=now), 1)
    assert d.allowed is inside
    if not inside:
        assert d.reason == f"outside off-peak window {start}-{end} {zone}"
        assert 0 < d.retry_after_s <= 24 * 3600
        opened = p.decide_file(
            cond(now=now.fromtimestamp(now.timestamp() + d.retry_after_s, UTC)), 1
        )
        assert opened.allowed


def test_off_peak_across_dst_change() -> None:
    """The night Europe/Berlin moves to summer time (29 March 2026, 02:00 -> 03:00) is an hour short."""
    p = policy(off_peak_start="01:00", off_peak_end="05:00", timezone="Europe/Berlin")
    before = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 00:00 CET
    d = p.decide_file(cond(now=before), 1)
    assert d.retry_after_s == 3600
    assert p.decide_file(
        cond(now=datetime(2026, 3, 29, 2, 30, tzinfo=UTC)), 1
    ).allowed  # 04:30 CEST
    assert not p.decide_file(cond(now=datetime(2026, 3, 29, 3, 0, tzinfo=UTC)), 1).allowed  # 05:00


def test_a_file_under_way_is_not_cut_by_the_window_closing() -> None:
    p = policy(off_peak_start="22:00", off_peak_end="06:00")
    assert p.decide_chunk(cond(now=NOON), "wifi", 1).allowed


def test_half_a_window_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="upload.off_peak_end: the off-peak window needs both"):
        policy(off_peak_start="22:00")


def test_budget_resets_at_local_midnight_in_zone() -> None:
    p = policy(mode="4g_only", daily_cellular_mb=1, timezone="Asia/Tokyo")
    d = p.decide_file(cond(now=NOON, cellular_used_bytes=MIB), 10)
    assert d.retry_after_s == 3 * 3600  # 21:00 JST -> midnight JST is 15:00 UTC

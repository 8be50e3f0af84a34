"""The time model, with injected clocks: no sleeping, no patching."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from device.clock import Clock, TimeBase, Timeline, iso_from_ns, ns_from_iso, parse_iso

T0 = ns_from_iso("2026-12-04T15:00:00.000Z")


class FakeClocks:
    """A wall and a monotonic clock the test moves by hand."""

    def __init__(self, wall_ns: int, mono_ns: int = 5_000_000_000) -> None:
        self.wall, self.mono = wall_ns, mono_ns

    def advance(self, seconds: float) -> None:
        self.wall += int(seconds * 1e9)
        self.mono += int(seconds * 1e9)

    def clock(self) -> Clock:
        return Clock(wall_ns=lambda: self.wall, monotonic_ns=lambda: self.mono)


def test_iso_from_ns_is_utc_with_milliseconds_and_z() -> None:
    text = iso_from_ns(T0 + 123_999_999)
    assert text == "2026-12-04T15:00:00.123Z"
    assert parse_iso(text).tzinfo is not None


def test_policies_decide_validity() -> None:
    fake = FakeClocks(T0)
    assert not TimeBase(fake.clock(), "sync", synced=lambda: False).valid()
    assert TimeBase(fake.clock(), "sync", synced=lambda: True).valid()
    assert TimeBase(fake.clock(), "plausible", synced=lambda: False).valid()
    boot_1970 = FakeClocks(12 * 10**9)
    assert not TimeBase(boot_1970.clock(), "plausible", synced=lambda: True).valid()
    with pytest.raises(ValueError, match="'gps'"):
        TimeBase(fake.clock(), "gps")


def test_segments_are_contiguous_on_the_sample_timeline() -> None:
    fake = FakeClocks(T0)
    base = TimeBase(fake.clock(), "plausible")
    line = Timeline(base, 16000, anchor_mono_ns=fake.mono)
    starts = [ns_from_iso(line.at_sample(k * 16000 * 60)) for k in range(5)]
    assert starts[0] == T0
    assert [b - a for a, b in zip(starts, starts[1:], strict=False)] == [60 * 10**9] * 4


def test_a_wall_clock_step_is_logged_and_moves_nothing(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeClocks(T0)
    base = TimeBase(fake.clock(), "plausible")
    line = Timeline(base, 16000, anchor_mono_ns=fake.mono, name="rec-1")
    before = [line.at_sample(16000 * 30), line.at_monotonic(fake.mono + 10**9)]
    fake.advance(10)
    assert line.check_step() == 0
    fake.wall -= 3600 * 10**9  # NTP steps the clock back an hour mid-recording
    with caplog.at_level(logging.WARNING):
        assert line.check_step() == -3600 * 10**9
    assert "stepped by -3600.000 s" in caplog.text and line.steps == 1
    assert [line.at_sample(16000 * 30), line.at_monotonic(fake.mono - 9 * 10**9)] == before
    assert line.check_step() == 0  # logged once per step


def test_media_held_until_time_is_valid_then_stamped_from_the_anchor() -> None:
    fake = FakeClocks(wall_ns=10 * 10**9)  # booted in 1970
    base = TimeBase(fake.clock(), "sync", synced=lambda: False)
    fired: list[str] = []
    base.on_valid(lambda: fired.append("valid"))
    line = Timeline(base, 16000, anchor_mono_ns=fake.mono)
    assert line.at_sample(16000) is None and not base.check()
    fake.advance(42)
    modem_time = datetime(2026, 12, 4, 15, 0, 42, tzinfo=UTC)
    base.network_time(modem_time)  # the modem's network time, system clock still 1970
    assert fired == ["valid"] and base.source == "modem"
    assert line.anchor()
    assert line.at_sample(0) == "2026-12-04T15:00:00.000Z"
    assert line.at_sample(16000 * 42) == "2026-12-04T15:00:42.000Z"
    assert not line.anchor()  # the anchor never moves once set


def test_drift_between_sound_card_and_monotonic_clock() -> None:
    fake = FakeClocks(T0)
    line = Timeline(TimeBase(fake.clock(), "plausible"), 16000, anchor_mono_ns=fake.mono)
    # 100 s of monotonic time, but the card delivered 100.01 s worth of samples: +100 ppm
    ppm = line.measure_drift(1_600_160, fake.mono + 100 * 10**9)
    assert ppm == pytest.approx(100, abs=0.01)

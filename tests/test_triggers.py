"""Local triggers: the daily schedule and SIGUSR1 (a real signal to this process)."""

from __future__ import annotations

import os
import signal
import time as _time
from datetime import UTC, datetime, timedelta

import pytest

from device.config import ConfigError
from device.triggers import Schedule, SignalTrigger, parse_schedule


def test_schedule_fires_once_per_time_per_day():
    s = Schedule("08:00,17:30", "UTC")
    t0 = datetime(2026, 12, 4, 7, 59, tzinfo=UTC)
    assert not s.due(t0)
    assert s.due(t0 + timedelta(minutes=1))
    assert not s.due(t0 + timedelta(minutes=2))
    assert s.due(datetime(2026, 12, 4, 17, 31, tzinfo=UTC))
    assert s.due(datetime(2026, 12, 5, 8, 0, 5, tzinfo=UTC))


def test_schedule_does_not_fire_for_times_past_at_start():
    s = Schedule("08:00", "UTC")
    assert not s.due(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    assert not s.due(datetime(2026, 12, 4, 9, 1, tzinfo=UTC))


def test_schedule_uses_its_zone():
    s = Schedule("08:00", "Europe/Berlin")
    assert not s.due(datetime(2026, 12, 4, 6, 59, tzinfo=UTC))
    assert s.due(datetime(2026, 12, 4, 7, 0, tzinfo=UTC))


def test_bad_schedule_names_the_key():
    with pytest.raises(ConfigError, match="agent.schedule.*'8am'"):
        parse_schedule("08:00, 8am")


def test_sigusr1_sets_the_trigger():
    trig = SignalTrigger()
    trig.install()
    try:
        assert not trig.take()
        os.kill(os.getpid(), signal.SIGUSR1)
        for _ in range(100):
            if trig.event.is_set():
                break
            _time.sleep(0.01)
        assert trig.take() and not trig.take()
    finally:
        trig.uninstall()

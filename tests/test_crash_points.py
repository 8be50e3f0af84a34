"""Every state transition of the spool and the uploader has its crash point, and every point is hit
somewhere in the code (the crash matrix in test_uploader_crash.py then crashes at each one)."""

from __future__ import annotations

import re
from pathlib import Path

from device.spool.states import (
    CRASH_POINTS,
    EXTRA_POINTS,
    MEDIA_STATES,
    RECORDING_STATES,
    TRANSITIONS,
)

DEVICE = Path(__file__).resolve().parents[1] / "device"
NAME = re.compile(r"""["']((?:spool|upload)\.[a-z_]+\.[a-z_]+|upload\.parked)["']""")


def names_in_code() -> set[str]:
    found: set[str] = set()
    for path in DEVICE.rglob("*.py"):
        if path.name != "states.py":
            found |= set(NAME.findall(path.read_text()))
    return found


def test_every_transition_has_a_point_and_every_state_is_reachable():
    assert set(TRANSITIONS.values()) <= set(CRASH_POINTS)
    for kind, states, initial in (
        ("media", MEDIA_STATES, "adding"),
        ("recording", RECORDING_STATES, "local"),
    ):
        reached = {new for (k, _old, new) in TRANSITIONS if k == kind}
        assert reached | {initial} == set(states), kind


def test_every_point_is_hit_in_the_code_and_no_unknown_one():
    used = names_in_code()
    assert used - set(CRASH_POINTS) == set(), "a hit() names a point missing from states.py"
    assert set(EXTRA_POINTS) - used == set(), "a point is listed but never hit"

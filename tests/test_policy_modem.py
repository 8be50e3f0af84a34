"""The upload policy driven by the real modem driver talking to the fake EC25 over a real pty.

What cannot run here: a cell tower, and the modem's USB network interface. The fake modem plays the
network (registration timelines in tools/scenarios/); the cellular link's interface state comes from
the sim net backend (a JSON file). The gate wakes on modem events (`wait_change`), so the tests
wait on the decision itself, never on a fixed sleep. Latencies are printed, not asserted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from device.config import UploadConfig
from device.gate import GateDecision
from device.policy import CellularBudget, Interfaces, PolicyGate, UploadPolicy
from device.policy.budget import connect
from device.policy.cellular import attach_modem
from hal.modem import Modem
from hal.net.sim import SimNet
from tests.fixtures.modem import fast_settings


@dataclass
class Rig:
    gate: PolicyGate
    net: SimNet
    modem: Modem
    radio_t0: float


@contextmanager
def policy_on_modem(tmp_path, fake, allow_roaming: bool = False) -> Iterator[Rig]:
    """Driver + watch thread (keeps data up; when roaming only if allowed) + adapter + gate."""
    net = SimNet(tmp_path / "links.json")
    net.update("wwan0", kind="cellular", addresses=["127.0.0.1"])
    policy = UploadPolicy.from_config(
        UploadConfig(mode="wifi_preferred", allow_roaming=allow_roaming)
    )
    budget = CellularBudget(connect(tmp_path / "policy.db"), policy.zone)
    modem = Modem(fast_settings(fake.path, apn="internet"))
    modem.start()
    stop = threading.Event()
    watcher = threading.Thread(
        target=modem.watch, args=(stop,), kwargs={"data_when_roaming": allow_roaming}, daemon=True
    )
    cellular = None
    try:
        gate = PolicyGate(policy, net, Interfaces("wlan0", "", "wwan0"), budget)
        cellular = attach_modem(gate, modem)
        watcher.start()
        yield Rig(gate, net, modem, fake.engine.radio_t0)
    finally:
        if cellular is not None:
            cellular.close()
        stop.set()
        if watcher.is_alive():
            watcher.join(5)
        modem.close()


def wait_decision(
    gate: PolicyGate, want: Callable[[GateDecision], bool], timeout: float = 8.0
) -> tuple[GateDecision, float]:
    """Ask before each 'file' until `want` holds; sleep on the gate's change signal in between."""
    deadline = time.monotonic() + timeout
    while True:
        d = gate.before_file(1000)
        if want(d):
            return d, time.monotonic()
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"gate still says {d} after {timeout} s")
        gate.wait_change(min(left, 0.5))


def paused_for(reason: str) -> Callable[[GateDecision], bool]:
    return lambda d: not d.allowed and d.reason == reason


def allowed_over(link: str) -> Callable[[GateDecision], bool]:
    return lambda d: d.allowed and d.link == link


def test_roaming_pauses_cellular_and_home_resumes_then_wifi_takes_over(
    tmp_path, fake_modem
) -> None:
    """roaming_to_home: searching, roaming from 0.3 s, home from 2.5 s; allow_roaming = false."""
    fake = fake_modem("roaming_to_home")
    with policy_on_modem(tmp_path, fake) as rig:
        wait_decision(rig.gate, paused_for("cellular roaming not allowed"))
        d, at = wait_decision(rig.gate, allowed_over("wwan0"))
        assert d.source_address == "127.0.0.1"
        print(
            f"\n[latency] home at +2.5 s -> cellular uploads resume: {at - rig.radio_t0 - 2.5:.3f} s"
        )
        rig.net.update("wlan0", kind="wifi", addresses=["127.0.0.2"], ssid="office")
        d, _ = wait_decision(rig.gate, allowed_over("wlan0"), timeout=1)
        assert d.source_address == "127.0.0.2"


def test_losing_registration_pauses_and_regaining_resumes(tmp_path, fake_modem) -> None:
    """home_lost_home: home, coverage lost at 1.5 s, home again at 3 s."""
    fake = fake_modem("home_lost_home")
    with policy_on_modem(tmp_path, fake) as rig:
        wait_decision(rig.gate, allowed_over("wwan0"))
        d, lost_at = wait_decision(rig.gate, lambda d: not d.allowed)
        assert d.reason in ("cellular not registered (searching)", "cellular data session down")
        _, back_at = wait_decision(rig.gate, allowed_over("wwan0"))
        print(
            f"\n[latency] coverage lost at +1.5 s -> paused: {lost_at - rig.radio_t0 - 1.5:.3f} s; "
            f"back at +3.0 s -> resumed: {back_at - rig.radio_t0 - 3.0:.3f} s"
        )


def test_roaming_allowed_uploads_over_the_visited_network(tmp_path, fake_modem) -> None:
    fake = fake_modem("roaming")
    with policy_on_modem(tmp_path, fake, allow_roaming=True) as rig:
        d, _ = wait_decision(rig.gate, allowed_over("wwan0"))
        assert rig.modem.current.registration == "roaming"

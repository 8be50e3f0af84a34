"""Upload policy: cost of one gate question, pause/resume latency, and the daily budget's accounting error.

Latency: a thread asks the gate in a tight loop (as the uploader does between chunks) while the main
thread flips an input (battery, WiFi, registration); printed is the time from the flip to the first
decision that reflects it. An uploader adds its own wait: the next chunk boundary for a pause, up
to `upload.poll_interval_s` (or `retry_after_s`) for a resume.
Accounting (needs root): PUTs over a real veth whose counters play the cellular interface's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from device.config import UploadConfig
from device.policy import CellularBudget, CellularState, Interfaces, PolicyGate, UploadPolicy
from device.policy.budget import connect
from hal.net.sim import SimNet
from hal.net.sysfs import SysfsNet
from hal.power.sim import SimPower
from tools.netlab import gated_put, http_sink, veth_pair


class Cell:
    def __init__(self) -> None:
        self.state = CellularState("home", True)

    def __call__(self) -> CellularState:
        return self.state


def sim_gate(d: Path, cell: Cell, **upload: object) -> tuple[PolicyGate, SimNet, SimPower]:
    net, power = SimNet(d / "links.json"), SimPower(d / "power.json")
    net.update("wwan0", kind="cellular", addresses=["127.0.0.1"], counters_from="lo")
    power.set_battery(capacity_percent=50, status="discharging")
    policy = UploadPolicy.from_config(UploadConfig(**upload))  # type: ignore[arg-type]
    budget = CellularBudget(connect(d / "policy.db"), policy.zone)
    return (
        PolicyGate(policy, net, Interfaces("wlan0", "", "wwan0"), budget, power, cell),
        net,
        power,
    )


def flip_latency(gate: PolicyGate, flip: Callable[[], None], want: bool) -> float:
    """Seconds from `flip()` returning to the first before_file answer with allowed == want."""
    assert gate.before_file(1000).allowed != want, "the case's setup did not take"
    seen = threading.Event()
    times: list[float] = []

    def asker() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if gate.before_file(1000).allowed == want and times:
                times.append(time.perf_counter())
                break
        seen.set()

    t = threading.Thread(target=asker)
    t.start()
    time.sleep(0.01)
    flip()
    times.append(time.perf_counter())
    seen.wait(6)
    t.join()
    if len(times) < 2:
        raise RuntimeError("the gate never reflected the change")
    return times[-1] - times[0]


def question_cost(gate: PolicyGate, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        gate.between_chunks(i, n + 1)
    return (time.perf_counter() - start) / n


def latencies(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cell = Cell()
        gate, net, power = sim_gate(
            Path(tmp), cell, mode="wifi_preferred", pause_below_battery_percent=20
        )
        gate.before_file(1000)
        print(f"gate question (sim files, between chunks): {question_cost(gate, 500) * 1e6:.0f} us")
        home, roaming = CellularState("home", True), CellularState("roaming", True)

        def setcell(state: CellularState) -> Callable[[], None]:
            return lambda: setattr(cell, "state", state)

        # name: (setup giving the opposite decision, the flip, the decision after the flip)
        cases = {
            "battery low -> pause": (
                lambda: power.set_battery(capacity_percent=50),
                lambda: power.set_battery(capacity_percent=10),
                False,
            ),
            "charging -> resume": (
                lambda: power.set_battery(capacity_percent=10, status="discharging"),
                lambda: power.set_battery(status="charging"),
                True,
            ),
            "roaming -> pause": (setcell(home), setcell(roaming), False),
            "home again -> resume": (setcell(roaming), setcell(home), True),
            "wifi appears -> resume": (
                lambda: net.remove("wlan0"),
                lambda: net.update("wlan0", kind="wifi", operstate="up", addresses=["127.0.0.2"]),
                True,
            ),
            "wifi down -> pause": (
                lambda: net.update("wlan0", kind="wifi", operstate="up", addresses=["127.0.0.2"]),
                lambda: net.update("wlan0", operstate="down"),
                False,
            ),
        }
        for name, (setup, flip, want) in cases.items():
            power.set_battery(capacity_percent=50, status="discharging")
            cell.state = roaming if name.startswith("wifi") else home
            net.remove("wlan0")
            samples = []
            for _ in range(rounds):
                setup()
                samples.append(flip_latency(gate, flip, want))
            print(
                f"{name:26} median {statistics.median(samples) * 1e3:7.3f} ms  max {max(samples) * 1e3:7.3f} ms"
            )


def accounting(sizes: list[int]) -> None:
    if os.geteuid() != 0:
        print("accounting: skipped (needs root for a veth pair)")
        return
    with (
        veth_pair() as veth,
        http_sink(veth.peer_addr, veth.namespace) as sink,
        tempfile.TemporaryDirectory() as tmp,
    ):
        policy = UploadPolicy.from_config(UploadConfig(mode="4g_only"))
        budget = CellularBudget(connect(Path(tmp) / "policy.db"), policy.zone)
        home = CellularState("home", True)
        net = SysfsNet(kinds={veth.host_if: "cellular"})
        gate = PolicyGate(
            policy, net, Interfaces(cellular=veth.host_if), budget, None, lambda: home
        )
        print(
            f"{'payload':>10} {'interface':>10} {'overhead':>8} {'lag@last chunk':>15} {'err after sample':>16}"
        )
        for size in sizes:
            start, wire0 = gate.sample(), sum(net.counters(veth.host_if))
            gated_put(gate, sink.host, sink.port, size, chunk=256 * 1024)
            during = budget.used(gate.clock()) - start
            time.sleep(0.05)  # let the FIN/ACK exchange finish before reading the counters
            wire = sum(net.counters(veth.host_if)) - wire0
            counted = gate.sample() - start
            print(
                f"{size:>10} {wire:>10} {100 * (wire - size) / size:>7.2f}% "
                f"{wire - during:>8} B {100 * (wire - during) / wire:5.2f}% {counted - wire:>14} B"
            )


def run(args: argparse.Namespace) -> None:
    latencies(3 if args.quick else 20)
    accounting(
        [256 * 1024, 1024 * 1024]
        if args.quick
        else [256 * 1024, 1024 * 1024, 8 * 1024 * 1024, 32 * 1024 * 1024]
    )

"""Modem benchmark: bring-up, one full status query and the port-vanish recovery time of the
driver against the fake EC25 on a real pty (figures printed, never asserted)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from hal.modem import Modem, ModemSettings
from tools.fake_modem import scenario
from tools.fake_modem.server import FakeModem

FAST = dict(timeout_default_s=1.0, timeout_reset_s=3.0, poll_interval_s=0.1, reopen_interval_s=0.05)


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def run(args: argparse.Namespace) -> None:
    rounds = 5 if getattr(args, "quick", False) else 30
    with tempfile.TemporaryDirectory() as tmp:
        with FakeModem(scenario.load("normal"), Path(tmp) / "tty") as fake:
            modem = Modem(ModemSettings(port=fake.path, **FAST))
            up = _timed(modem.start)
            times = [_timed(modem.status) for _ in range(rounds)]
            commands = len(fake.engine.commands)
            modem.close()
        print(f"bring-up                 {up:8.1f} ms")
        print(
            f"status() median/max      {statistics.median(times):8.1f} / {max(times):.1f} ms "
            f"({rounds} rounds, {commands} AT commands in all)"
        )
        print(f"port vanish -> status ok {_vanish(Path(tmp)):8.1f} ms (port gone for 800 ms)")


def _vanish(tmp: Path) -> float:
    with FakeModem(scenario.load("port_vanish"), tmp / "tty2") as fake:
        modem = Modem(ModemSettings(port=fake.path, **FAST))
        back = threading.Event()
        lost_at: list[float] = []
        modem.subscribe(lambda e: e.kind == "port_lost" and lost_at.append(time.perf_counter()))
        modem.start()
        stop = threading.Event()
        modem.subscribe(lambda e: e.kind == "registered" and lost_at and back.set())
        worker = threading.Thread(target=modem.watch, args=(stop,), daemon=True)
        worker.start()
        back.wait(10)
        done = time.perf_counter()
        stop.set()
        modem.wake()
        worker.join(5)
        modem.close()
    return (done - lost_at[0]) * 1000 if lost_at else float("nan")

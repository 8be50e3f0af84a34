"""The supervisor: restart with backoff, the death limit, and watchdog pings gated on liveness.

The watchdog pings go to a real notify socket; the workers are small test functions.
"""

from __future__ import annotations

import threading
import time

from device.sdnotify import Notifier
from device.supervisor import RestartPolicy, Supervisor, WorkerSpec

FAST = RestartPolicy(backoff_base_s=0.05, backoff_max_s=0.2, max_deaths=3, window_s=600)


def _idle(ctx):
    while not ctx.sleep(0.05):
        pass


def _run_for(sup: Supervisor, seconds: float) -> int:
    sup.start()
    try:
        return sup.run(duration_s=seconds)
    finally:
        sup.shutdown(2)


def test_watchdog_pinged_while_all_workers_make_progress(notify_socket):
    n = Notifier({"NOTIFY_SOCKET": notify_socket.env_value})
    sup = Supervisor(
        [WorkerSpec("a", _idle, 0.5), WorkerSpec("b", _idle, 0.5)], FAST, n, tick_s=0.05
    )
    assert _run_for(sup, 0.6) == 0
    assert len(notify_socket.with_key("WATCHDOG")) >= 3


def test_hung_worker_stops_watchdog_pings(notify_socket):
    release = threading.Event()

    def hangs_after_a_while(ctx):
        for _ in range(3):
            ctx.sleep(0.05)
        release.wait()  # hung: no beats

    n = Notifier({"NOTIFY_SOCKET": notify_socket.env_value})
    sup = Supervisor(
        [WorkerSpec("up", hangs_after_a_while, 0.3), WorkerSpec("ok", _idle, 0.3)],
        FAST,
        n,
        tick_s=0.05,
    )
    sup.start()
    try:
        sup.run(duration_s=1.5)
        assert sup.stalled() == {"up"}
        pings = notify_socket.with_key("WATCHDOG")
        assert pings, "pinged at first"
        last_ping = pings[-1][0]
        stalled_msg = notify_socket.wait_for("STATUS", "worker up stalled")
        assert stalled_msg
        assert time.monotonic() - last_ping > 0.8, "no pings during the last part of the run"
    finally:
        release.set()
        sup.shutdown(2)


def test_dead_worker_restarts_with_backoff():
    runs = []

    def dies_twice(ctx):
        runs.append(time.monotonic())
        if len(runs) <= 2:
            raise RuntimeError("boom")
        _idle(ctx)

    events = []
    sup = Supervisor(
        [WorkerSpec("w", dies_twice, 1)],
        FAST,
        on_event=lambda k, t: events.append((k, t)),
        tick_s=0.02,
    )
    assert _run_for(sup, 0.8) == 0
    assert len(runs) == 3
    assert sup.deaths() == {"w": 2}
    assert events[0] == ("worker_died", "w: RuntimeError('boom')")
    assert runs[2] - runs[1] >= runs[1] - runs[0], "the second restart waits longer"


def test_three_deaths_in_the_window_end_with_status_1(notify_socket):
    def always_dies(ctx):
        raise OSError("disk gone")

    n = Notifier({"NOTIFY_SOCKET": notify_socket.env_value})
    sup = Supervisor([WorkerSpec("w", always_dies, 1)], FAST, n, tick_s=0.02)
    assert _run_for(sup, 5) == 1
    assert sup.deaths() == {"w": 3}
    time.sleep(0.1)
    assert any("3 deaths" in m.get("STATUS", "") for _, m in notify_socket.messages)


def test_a_worker_returning_early_counts_as_a_death():
    sup = Supervisor(
        [WorkerSpec("w", lambda ctx: None, 1)], RestartPolicy(0.01, 0.01, 2, 600), tick_s=0.02
    )
    assert _run_for(sup, 3) == 1


def test_shutdown_joins_workers_that_honour_stop():
    sup = Supervisor([WorkerSpec("w", _idle, 1)], FAST, tick_s=0.02)
    sup.start()
    assert sup.shutdown(2) == []


def test_backoff_grows_and_is_capped():
    p = RestartPolicy(backoff_base_s=1, backoff_max_s=5)
    assert [p.delay(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 5, 5]

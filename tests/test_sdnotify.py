"""sd_notify over a real AF_UNIX datagram socket (path and abstract namespace)."""

from __future__ import annotations

import os
import uuid

from device.sdnotify import Notifier
from tests.fixtures.notify import NotifyListener


def test_ready_status_watchdog_reach_a_path_socket(notify_socket):
    n = Notifier({"NOTIFY_SOCKET": notify_socket.env_value})
    assert n.enabled
    assert n.ready("idle")
    assert n.watchdog()
    assert n.stopping()
    assert notify_socket.wait_for("READY", "1")["STATUS"] == "idle"
    notify_socket.wait_for("WATCHDOG", "1")
    notify_socket.wait_for("STOPPING", "1")
    n.close()


def test_abstract_namespace_socket():
    listener = NotifyListener("@recorder-test-" + uuid.uuid4().hex)
    try:
        n = Notifier({"NOTIFY_SOCKET": listener.env_value})
        assert n.status("recording rec_1")
        assert listener.wait_for("STATUS")["STATUS"] == "recording rec_1"
    finally:
        listener.close()


def test_without_notify_socket_nothing_is_sent():
    n = Notifier({})
    assert not n.enabled
    assert not n.ready()
    assert n.watchdog_s is None


def test_watchdog_interval_only_for_this_pid():
    mine = Notifier({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())})
    assert mine.watchdog_s == 4.0
    other = Notifier({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_s is None


def test_missing_socket_path_is_reported_not_raised(tmp_path, caplog):
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nope.sock")})
    assert not n.ready()
    assert "sd_notify" in caplog.text

"""The modem driver against the fake EC25 over a real pty, one test per scenario.

What cannot run here: a cell tower. The fake modem plays the network's side (registration,
signal, PDP) from the scenario files in tools/scenarios/.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from hal.modem import Modem, ModemEvent, PortGone, RecoveryFailed, SimError
from tests.fixtures.modem import DESIGN_STATUS_FIELDS, fast_settings


def wait_for(cond: Callable[[], object], timeout: float = 5.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout} s")


@contextmanager
def driver(fake, **changes) -> Iterator[tuple[Modem, list[ModemEvent]]]:
    modem = Modem(fast_settings(fake.path, apn="internet", **changes))
    events: list[ModemEvent] = []
    modem.subscribe(events.append)
    modem.start()
    try:
        yield modem, events
    finally:
        modem.close()


@contextmanager
def watching(modem: Modem, **kw) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=modem.watch, args=(stop,), kwargs=kw, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        modem.wake()
        thread.join(10)


def kinds(events: list[ModemEvent]) -> list[str]:
    return [e.kind for e in events]


def registered(modem: Modem, state: str = "home") -> Callable[[], bool]:
    return lambda: modem.status().registration == state


def test_normal(fake_modem) -> None:
    fake = fake_modem("normal")
    with driver(fake) as (modem, events):
        wait_for(registered(modem))
        st = modem.poll()
        assert (st.sim, st.registration, st.operator, st.access_technology) == (
            "ready",
            "home",
            "Telekom.de",
            "LTE",
        )
        assert (st.signal_dbm, st.rssi, st.ber) == (-75, 19, None)
        assert (st.imei, st.iccid) == ("866425030123456", "89490200001234567890")
        assert st.data_session == "up" and st.data_address == "10.64.12.7"
        assert st.network_time is not None and st.sinr_db == 10.0 and st.errors == ()
        assert {"registered", "data_up", "signal"} <= set(kinds(events))
        assert fake.engine.echo is False and fake.engine.cmee == 2
        assert 'AT+CGDCONT=1,"IP","internet"' in fake.engine.commands
        assert set(st.to_json()) >= set(DESIGN_STATUS_FIELDS)


def test_roaming(fake_modem) -> None:
    with driver(fake_modem("roaming")) as (modem, events):
        wait_for(registered(modem, "roaming"))
        st = modem.status()
        assert (st.operator, st.mcc_mnc) == ("Vodafone NL", "20404")
        assert "roaming" in kinds(events)
        assert modem.poll(data_when_roaming=False).data_session == "down"


def test_roaming_to_home_timeline_events(fake_modem) -> None:
    with driver(fake_modem("roaming_to_home")) as (modem, events), watching(modem):
        wait_for(lambda: "registered" in kinds(events), 8)
        regs = [k for k in kinds(events) if k in ("registered", "roaming", "lost")]
        assert regs[:2] == ["roaming", "registered"]


def test_home_lost_home(fake_modem) -> None:
    with driver(fake_modem("home_lost_home")) as (modem, events), watching(modem):
        wait_for(lambda: kinds(events).count("registered") >= 2, 8)
        regs = [k for k in kinds(events) if k in ("registered", "roaming", "lost")]
        assert regs[:3] == ["registered", "lost", "registered"]
        assert any(e.kind == "signal" and e.status.signal_dbm is None for e in events)


def test_sim_absent(fake_modem) -> None:
    with driver(fake_modem("sim_absent")) as (modem, _):
        st = modem.status()
        assert (st.sim, st.iccid, st.registration) == ("absent", None, "not_registered")
        assert st.imei == "866425030123456"


def test_pin_required_enters_configured_pin(fake_modem) -> None:
    fake = fake_modem("pin_required")
    with driver(fake, pin="1234") as (modem, _):
        assert modem.status().sim == "pin_required"
        st = modem.poll()
        assert st.sim == "ready"
        wait_for(registered(modem))
        assert fake.engine.pin_attempts == 1
        assert "AT+CPIN=***" not in fake.engine.commands  # the real PIN went to the modem


def test_wrong_pin_is_tried_once_per_sim(fake_modem, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    fake = fake_modem("pin_required")
    with driver(fake, pin="9999") as (modem, _):
        assert "9999" not in repr(modem.settings)
        with pytest.raises(SimError) as info:
            modem.poll()
        assert info.value.state == "pin_required" and "not be retried" in str(info.value)
        for _ in range(3):
            with pytest.raises(SimError):
                modem.poll()
        assert fake.engine.pin_attempts == 1 and fake.engine.pin_tries == 2
    assert "9999" not in caplog.text


def test_a_refused_pin_is_not_retried_after_a_restart(fake_modem, tmp_path) -> None:
    """The record of a refused PIN is on disk: a second driver (a restarted agent) does not send
    it again; the right PIN clears the record, so it is entered again after a modem reset."""
    record = tmp_path / "state" / "pin-attempts.json"
    fake = fake_modem("pin_required")
    with driver(fake, pin="9999", pin_state_file=str(record)) as (modem, _):
        with pytest.raises(SimError):
            modem.poll()
    assert oct(record.stat().st_mode & 0o777) == "0o600"
    assert len(json.loads(record.read_text())) == 1
    with driver(fake, pin="9999", pin_state_file=str(record)) as (modem, _):
        with pytest.raises(SimError, match="already tried"):
            modem.poll()
    assert fake.engine.pin_attempts == 1 and fake.engine.pin_tries == 2
    record.write_text("[]")  # the operator fixed the config and cleared the record
    with driver(fake, pin="1234", pin_state_file=str(record)) as (modem, _):
        assert modem.poll().sim == "ready"
    assert json.loads(record.read_text()) == []


def test_searching(fake_modem) -> None:
    with driver(fake_modem("searching")) as (modem, _):
        st = modem.status()
        assert (st.registration, st.signal_dbm, st.operator) == ("searching", -107, None)


def test_denied(fake_modem) -> None:
    with driver(fake_modem("denied")) as (modem, _):
        wait_for(registered(modem, "denied"))


def test_no_signal(fake_modem) -> None:
    with driver(fake_modem("no_signal")) as (modem, _):
        st = modem.status()
        assert (st.signal_dbm, st.rssi, st.ber, st.registration) == (None, None, None, "searching")


def test_pdp_deact_urc_and_watch_restores_data(fake_modem) -> None:
    with driver(fake_modem("pdp_deact")) as (modem, events), watching(modem):
        wait_for(lambda: "data_down" in kinds(events), 6)
        wait_for(lambda: kinds(events).count("data_up") >= 2, 6)
        assert modem.current.data_session == "up"


def test_spontaneous_reboot_recovers(fake_modem) -> None:
    fake = fake_modem("reboot")
    with driver(fake) as (modem, events), watching(modem):
        wait_for(lambda: "restarted" in kinds(events), 6)
        # brought up again: echo off, registration URCs back on, registered, data up
        wait_for(
            lambda: (
                fake.engine.reset_count == 1
                and not fake.engine.echo
                and fake.engine.reg_mode["CEREG"] == 2
                and modem.current.registration == "home"
                and modem.current.data_session == "up"
            ),
            6,
        )


def test_garbage_bytes_do_not_break_the_channel(fake_modem) -> None:
    fake = fake_modem("garbage")
    with driver(fake) as (modem, _):
        time.sleep(0.9)  # both garbage bursts have been sent
        st = modem.status()
        assert st.registration == "home" and st.errors == ()


def on_network(fake) -> None:
    wait_for(lambda: fake.engine.registered(time.monotonic()))


def test_slow_replies(fake_modem) -> None:
    fake = fake_modem("slow")
    with driver(fake) as (modem, _):
        on_network(fake)
        st = modem.status()
        assert st.registration == "home" and st.signal_dbm == -73 and st.errors == ()


def test_a_command_that_never_answers(fake_modem) -> None:
    fake = fake_modem("hang")
    with driver(fake, timeout_default_s=0.4) as (modem, _):
        on_network(fake)
        st = modem.status()
        assert st.operator == "Telekom.de" and st.access_technology == "LTE"  # from COPS
        assert st.signal_dbm == -73 and st.band is None
        assert modem.cmd("AT+CSQ").lines == ("+CSQ: 20,99",)  # no stale line taken


def test_echo_stuck_on(fake_modem) -> None:
    fake = fake_modem("echo_on")
    with driver(fake) as (modem, _):
        on_network(fake)
        st = modem.status()
        assert fake.engine.echo is True
        assert st.operator == "Telekom.de" and st.imei == "866425030123456" and st.errors == ()


def test_port_vanishes_and_returns(fake_modem) -> None:
    fake = fake_modem("port_vanish")
    with driver(fake) as (modem, events), watching(modem):
        wait_for(lambda: "port_back" in kinds(events), 6)
        wait_for(
            lambda: modem.current.registration == "home" and modem.current.data_session == "up", 6
        )
        assert kinds(events).index("port_lost") < kinds(events).index("port_back")
        assert fake.vanish_count == 1


def test_recovery_ladder_cfun_cycle(fake_modem) -> None:
    fake = fake_modem("stuck")
    with driver(fake, timeout_cops_set_s=0.6) as (modem, _):
        assert modem.status().registration == "searching"
        assert modem.recover() == "cfun_cycle"
        assert "AT+COPS=0" in fake.engine.commands and "AT+CFUN=0" in fake.engine.commands


def test_modem_reset_when_port_drops_during_reboot(fake_modem) -> None:
    fake = fake_modem("reset_vanish")
    with driver(fake) as (modem, events):
        step = {s.name: s for s in modem.recovery_steps()}["modem_reset"]
        step.run()
        assert fake.engine.reset_count == 1 and fake.vanish_count == 1
        wait_for(registered(modem))
        assert "port_back" in kinds(events)


def test_ladder_ends_with_the_hardware_hook(fake_modem, tmp_path) -> None:
    marker = tmp_path / "hook-ran"
    fake = fake_modem("searching")
    hook = f"sh -c 'echo reset >> {marker}'"
    with driver(fake, timeout_cops_set_s=0.3, timeout_reset_s=1.0, reset_hook=hook) as (modem, _):
        with pytest.raises(RecoveryFailed) as info:
            modem.recover()
    assert info.value.steps == ("reregister", "cfun_cycle", "modem_reset", "hardware_reset")
    assert marker.read_text() == "reset\n" and fake.engine.reset_count == 1


def test_apn_table_and_auth_quectel(fake_modem) -> None:
    fake = fake_modem("roaming")
    with driver(
        fake,
        apn_table="20404=live.vodafone.com",
        apn_user="u",
        apn_password="s3cret",
        apn_auth="chap",
    ) as (modem, _):
        wait_for(registered(modem, "roaming"))
        modem.status()
        assert modem.configure_apn() == "live.vodafone.com"
    assert 'AT+QICSGP=1,1,"live.vodafone.com","u","s3cret",2' in fake.engine.commands


def test_through_spy_url(fake_modem, tmp_path) -> None:
    """The driver works through spy:// (how a capture of a real modem session is taken)."""
    fake = fake_modem("normal")
    capture = tmp_path / "capture.txt"
    modem = Modem(fast_settings(f"spy://{fake.path}?file={capture}"))
    with modem:
        assert modem.status().imei == "866425030123456"
    assert "AT+CSQ" in capture.read_text()


def test_start_waits_for_a_port_that_appears_late(fake_modem, tmp_path) -> None:
    """At boot the module may still be enumerating: start(wait_s) retries until it appears."""
    late = tmp_path / "ttyLATE"
    fake = fake_modem("normal")
    timer = threading.Timer(0.3, lambda: late.symlink_to(fake.link.resolve()))
    timer.start()
    modem = Modem(fast_settings(str(late)))
    try:
        modem.start(wait_s=3.0)
        assert modem.identity is not None and modem.identity.model == "EC25"
    finally:
        timer.join()
        modem.close()
    with pytest.raises(PortGone):
        Modem(fast_settings(str(tmp_path / "never"))).start(wait_s=0.2)


def test_start_can_be_retried_after_the_port_was_missing(fake_modem, tmp_path) -> None:
    """The agent retries start() each round while the port is absent; once it appears, one
    URC still gives one event (no duplicate subscriptions from the failed starts)."""
    late = tmp_path / "ttyRETRY"
    modem = Modem(fast_settings(str(late)))
    for _ in range(3):
        with pytest.raises(PortGone):
            modem.start()
    fake = fake_modem("roaming")
    late.symlink_to(fake.link.resolve())
    events: list[ModemEvent] = []
    modem.subscribe(events.append)
    try:
        modem.start()
        wait_for(lambda: "roaming" in kinds(events))
        time.sleep(0.2)
        assert kinds(events).count("roaming") == 1
    finally:
        modem.close()

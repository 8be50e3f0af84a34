"""The fake modem is real enough for another client: the third-party `atlib` package (PyPI,
in the dev extras) opens the fake's pty and gets sane answers, on several scenarios."""

from __future__ import annotations

import pytest

try:
    import atlib
except ImportError as exc:  # a missing dev dependency fails loudly, it is never skipped
    raise ImportError("tests need `atlib` (pip install -e '.[dev]')") from exc


def open_device(path: str) -> atlib.GSM_Device:
    return atlib.GSM_Device(path, baudrate=115200)


def wait_registered(dev: atlib.GSM_Device) -> tuple[int, int]:
    import time

    deadline = time.monotonic() + 5
    n, stat = dev.get_network_registration()
    while stat not in (1, 5) and time.monotonic() < deadline:
        time.sleep(0.05)
        n, stat = dev.get_network_registration()
    return n, stat


def test_atlib_reads_a_normal_modem(fake_modem) -> None:
    fake = fake_modem("normal")
    dev = open_device(fake.path)
    try:
        assert dev.get_sim_status() == atlib.Status.OK
        assert dev.get_signal() == (19, 99)
        assert dev.get_imei() == "866425030123456"
        assert dev.get_iccid() == "89490200001234567890"
        assert dev.get_manufacturer() == "Quectel" and dev.get_model() == "EC25"
        assert wait_registered(dev)[1] == 1
        assert dev.get_current_operator() == "Telekom.de"
    finally:
        dev.serial.close()
    assert fake.engine.echo is True and fake.engine.cmee == 1  # atlib's own settings took


def test_atlib_sees_roaming_and_missing_sim(fake_modem) -> None:
    dev = open_device(fake_modem("roaming").path)
    try:
        assert wait_registered(dev)[1] == 5
        assert dev.get_current_operator() == "Vodafone NL"
    finally:
        dev.serial.close()
    dev = open_device(fake_modem("sim_absent").path)
    try:
        assert dev.get_sim_status() == atlib.Status.ERROR_SIM_NOT_INSERTED
        response = dev.command("AT+CPIN?")
        assert isinstance(response.error, atlib.CMEError) and response.error.code == 10
    finally:
        dev.serial.close()


@pytest.mark.parametrize("scenario", ["garbage", "echo_on"])
def test_atlib_survives_fault_scenarios(fake_modem, scenario: str) -> None:
    import time

    dev = open_device(fake_modem(scenario).path)
    try:
        time.sleep(0.4)  # garbage: the first burst (0.3 s) is waiting in the port
        assert dev.get_signal() == (20, 99)
    finally:
        dev.serial.close()

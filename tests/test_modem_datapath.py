"""The host data path. What cannot run here: a modem's usbnet/QMI/PPP interface. The AT half of
usbnet runs against the fake modem; the host half (address and byte counters) is the same reader
pointed at the real loopback interface; the `sim` backend stands in for the link itself."""

from __future__ import annotations

import shutil

import pytest

from hal.errors import BackendUnavailable
from hal.modem import Modem
from hal.modem.datapath import (
    PppDataPath,
    QmiDataPath,
    SimDataPath,
    UsbnetDataPath,
    datapath_for,
    read_interface,
)
from hal.modem.settings import ModemSettings, parse_apn_table
from tests.fixtures.modem import fast_settings


def test_read_interface_on_loopback() -> None:
    info = read_interface("test", "lo")
    assert info.up and info.address == "127.0.0.1"
    assert info.rx_bytes >= 0 and info.tx_bytes >= 0
    missing = read_interface("test", "wwan-none")
    assert not missing.up and missing.address is None


def test_sim_backend_reports_modem_address_and_counters(fake_modem) -> None:
    fake = fake_modem("normal")
    path = SimDataPath()
    modem = Modem(fast_settings(fake.path, apn="internet"), datapath=path)
    with modem:
        fake.engine.radio_t0 -= 1  # skip the 0.2 s search
        st = modem.activate_data()
        assert st.data_session == "up" and st.data_interface == "sim0"
        path.add_traffic(rx=1000, tx=250)
        info = path.info()
        assert (info.address, info.rx_bytes, info.tx_bytes, info.simulated) == (
            "10.64.12.7",
            1000,
            250,
            True,
        )
        assert modem.deactivate_data().data_session == "down" and not path.info().up


def test_usbnet_backend_configures_the_modem(fake_modem) -> None:
    fake = fake_modem("normal")
    fake.engine.usbnet = 0  # factory default: no network adapter
    modem = Modem(fast_settings(fake.path, apn="internet"), datapath=UsbnetDataPath("lo"))
    with modem:
        fake.engine.radio_t0 -= 1
        modem.activate_data()
        assert fake.engine.usbnet == 1
        assert 'AT+QCFG="usbnet",1' in fake.engine.commands
        assert "AT+QNETDEVCTL=1,1,1" in fake.engine.commands
        assert modem.datapath.info().address == "127.0.0.1"  # host half read from a real iface


def test_backends_that_need_tools_say_what_is_missing() -> None:
    settings = ModemSettings(port="x", data_path="ppp", data_port="/dev/ttyUSB3", apn="internet")
    ppp = datapath_for(settings)
    assert isinstance(ppp, PppDataPath) and ppp.argv()[:2] == ["pppd", "/dev/ttyUSB3"]
    qmi = datapath_for(settings.replace(data_path="qmi"))
    assert isinstance(qmi, QmiDataPath)
    assert "--wds-start-network=apn=internet,ip-type=4" in qmi.argv("internet")
    for backend, tool in ((ppp, "pppd"), (qmi, "qmicli")):
        if shutil.which(tool) is None:
            with pytest.raises(BackendUnavailable) as info:
                backend.up(lambda c: None, None)
            assert tool in str(info.value)


def test_settings_timeouts_and_apn_table() -> None:
    s = ModemSettings(timeout_cpin_s=7, timeout_cops_set_s=99, timeout_pdp_s=42)
    assert s.timeout_for("AT+CPIN?") == 7 and s.timeout_for("AT+COPS=0") == 99
    assert s.timeout_for("AT+QIACT=1") == 42 and s.timeout_for("AT+CGACT=1,1") == 42
    assert s.timeout_for("AT+COPS?") == s.timeout_cops_query_s
    assert s.timeout_for("ATI") == s.timeout_default_s
    t = ModemSettings(apn="fallback", apn_table="26201=internet.telekom, 20404=live.vodafone.com")
    assert t.apn_for("20404") == "live.vodafone.com" and t.apn_for("99999") == "fallback"
    with pytest.raises(ValueError, match="telekom"):
        parse_apn_table("telekom")


def test_settings_from_device_config() -> None:
    from device.config import ModemConfig

    s = ModemSettings.from_object(ModemConfig(port="/dev/ttyUSB2", apn="x"), baudrate=9600)
    assert (s.port, s.apn, s.baudrate, s.timeout_csq_s) == ("/dev/ttyUSB2", "x", 9600, 3.0)

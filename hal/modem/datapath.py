"""The host side of the data link: the network interface `requests` will use.

One small interface (`DataPath`: `up`, `down`, `info`) with backends chosen by `data_path`:
- `usbnet`: Quectel ECM/RNDIS (`AT+QCFG="usbnet",1|3`, then `AT+QNETDEVCTL=1,1,1` dials and the
  host gets `usb0`/`wwan0` by DHCP); needs the interface to appear on the host.
- `qmi`: `qmicli --wds-start-network` on `/dev/cdc-wdm0` with a raw-IP `wwan0`; needs qmicli.
- `ppp`: `pppd` on a second serial port (`data_port`), interface `ppp0`; needs pppd.
- `sim`: simulated: the PDP address from the modem, counters that tests advance.
Interface address and byte counters are read from the kernel (`/sys/class/net/IF/statistics`,
`SIOCGIFADDR`), so the same reader works on any real interface (tests use `lo`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hal.errors import BackendUnavailable
from hal.modem.channel import Reply
from hal.modem.errors import DataPathError
from hal.modem.settings import ModemSettings

log = logging.getLogger("hal.modem.datapath")
SYS_NET = Path("/sys/class/net")
SIOCGIFADDR = 0x8915

AtRunner = Callable[[str], Reply]  # runs one AT command (the driver's `cmd`)


@dataclass(frozen=True)
class LinkInfo:
    backend: str
    interface: str
    up: bool
    address: str | None = None
    rx_bytes: int = 0
    tx_bytes: int = 0
    simulated: bool = False


def interface_address(name: str) -> str | None:
    """The IPv4 address of interface name, or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def read_interface(backend: str, name: str) -> LinkInfo:
    """Counters and address of a real interface; down (not an error) when it does not exist."""
    base = SYS_NET / name
    if not base.exists():
        return LinkInfo(backend, name, False)
    stats = base / "statistics"
    rx = int((stats / "rx_bytes").read_text())
    tx = int((stats / "tx_bytes").read_text())
    oper = (base / "operstate").read_text().strip()
    addr = interface_address(name)
    return LinkInfo(backend, name, oper in ("up", "unknown") and addr is not None, addr, rx, tx)


class DataPath(ABC):
    name = "none"

    @abstractmethod
    def up(self, at: AtRunner, address: str | None) -> LinkInfo:
        """Bring the host link up after the PDP context is active (address from the modem)."""

    @abstractmethod
    def down(self, at: AtRunner) -> None: ...

    @abstractmethod
    def info(self) -> LinkInfo: ...


class NoDataPath(DataPath):
    """No host link is managed (the agent uses whatever interface the OS set up)."""

    def up(self, at: AtRunner, address: str | None) -> LinkInfo:
        return self.info()

    def down(self, at: AtRunner) -> None:
        return None

    def info(self) -> LinkInfo:
        return LinkInfo("none", "", False)


class SimDataPath(DataPath):
    """Simulated link: no interface exists here; address from the modem, counters advanced by
    `add_traffic()` (QA and tests)."""

    name = "sim"

    def __init__(self, interface: str = "sim0") -> None:
        self._info = LinkInfo(self.name, interface, False, simulated=True)

    def up(self, at: AtRunner, address: str | None) -> LinkInfo:
        self._info = LinkInfo(self.name, self._info.interface, True, address, simulated=True)
        return self._info

    def down(self, at: AtRunner) -> None:
        self._info = LinkInfo(self.name, self._info.interface, False, simulated=True)

    def add_traffic(self, rx: int, tx: int) -> None:
        i = self._info
        self._info = LinkInfo(i.backend, i.interface, i.up, i.address, i.rx_bytes + rx,
                              i.tx_bytes + tx, True)

    def info(self) -> LinkInfo:
        return self._info


class UsbnetDataPath(DataPath):
    """Quectel ECM (usbnet 1) or RNDIS (3): the modem routes, the host sees `usb0`/`wwan0`."""

    name = "usbnet"
    MODE = 1  # ECM; changing it needs a modem reset (AT+CFUN=1,1), done once at install

    def __init__(self, interface: str = "usb0") -> None:
        self.interface = interface or "usb0"

    def up(self, at: AtRunner, address: str | None) -> LinkInfo:
        mode = at('AT+QCFG="usbnet"').first("+QCFG:") or ""
        if not mode.endswith(f",{self.MODE}"):
            at(f'AT+QCFG="usbnet",{self.MODE}')
            log.warning("usbnet mode set to %d; it takes effect after a modem reset", self.MODE)
        at("AT+QNETDEVCTL=1,1,1")
        return self.info()

    def down(self, at: AtRunner) -> None:
        at("AT+QNETDEVCTL=0,1,0")

    def info(self) -> LinkInfo:
        return read_interface(self.name, self.interface)


class QmiDataPath(DataPath):
    """QMI via qmicli on /dev/cdc-wdm0 (raw IP on wwan0); the address comes by DHCP or qmicli."""

    name = "qmi"

    def __init__(self, settings: ModemSettings, device: str = "/dev/cdc-wdm0") -> None:
        self.settings = settings
        self.device = device
        self.interface = settings.interface or "wwan0"

    def argv(self, apn: str) -> list[str]:
        ip = {"IP": "4", "IPV6": "6", "IPV4V6": "4"}[self.settings.pdp_type]
        return ["qmicli", "-d", self.device, f"--wds-start-network=apn={apn},ip-type={ip}",
                "--client-no-release-cid"]

    def up(self, at: AtRunner, address: str | None) -> LinkInfo:
        if shutil.which("qmicli") is None:
            raise BackendUnavailable("qmi", "qmicli (Debian package libqmi-utils)")
        done = subprocess.run(self.argv(self.settings.apn), capture_output=True, text=True,
                              timeout=self.settings.timeout_pdp_s, check=False)
        if done.returncode != 0:
            raise DataPathError(self.name, done.stderr.strip()[-200:])
        return self.info()

    def down(self, at: AtRunner) -> None:
        return None

    def info(self) -> LinkInfo:
        return read_interface(self.name, self.interface)


class PppDataPath(DataPath):
    """pppd on the second serial port (the AT port stays free); interface ppp0."""

    name = "ppp"

    def __init__(self, settings: ModemSettings) -> None:
        self.settings = settings
        self.interface = settings.interface or "ppp0"
        self._proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        chat = "chat -v '' AT OK 'ATD*99***1#' CONNECT"
        argv = ["pppd", self.settings.data_port, str(self.settings.baudrate), "nodetach",
                "noauth", "defaultroute", "usepeerdns", "noipdefault", "persist", "connect", chat]
        if self.settings.apn_user:
            argv += ["user", self.settings.apn_user]
        return argv

    def up(self, at: AtRunner, address: str | None) -> LinkInfo:
        if shutil.which("pppd") is None:
            raise BackendUnavailable("ppp", "pppd (Debian package ppp)")
        if not self.settings.data_port:
            raise DataPathError(self.name, "modem.data_port (the second serial port) is not set")
        self._proc = subprocess.Popen(self.argv(), start_new_session=True)
        deadline = time.monotonic() + self.settings.timeout_pdp_s
        while time.monotonic() < deadline and not self.info().up:
            time.sleep(0.5)
        return self.info()

    def down(self, at: AtRunner) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            self._proc.wait(timeout=10)
        self._proc = None

    def info(self) -> LinkInfo:
        return read_interface(self.name, self.interface)


def datapath_for(settings: ModemSettings) -> DataPath:
    kind = settings.data_path
    if kind == "sim":
        return SimDataPath(settings.interface or "sim0")
    if kind == "usbnet":
        return UsbnetDataPath(settings.interface)
    if kind == "qmi":
        return QmiDataPath(settings)
    if kind == "ppp":
        return PppDataPath(settings)
    return NoDataPath()

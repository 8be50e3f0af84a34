"""The real backend: /sys/class/net for state and counters, ioctl and /proc for addresses, iw for SSID."""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import shutil
import socket
import struct
import subprocess
from collections.abc import Mapping
from pathlib import Path

from hal.net.errors import LinkNotFound, NetConfigError, NetError
from hal.net.link import KINDS, LinkState

log = logging.getLogger(__name__)

SIOCGIFADDR = 0x8915
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
CELLULAR_PREFIXES = ("wwan", "rmnet", "ppp", "usb", "wwp")
IW_TIMEOUT_S = 2.0


class SysfsNet:
    """Reads the kernel's view of each interface; `kinds` overrides the guessed kind by name."""

    def __init__(
        self, root: str = "/sys/class/net", kinds: Mapping[str, str] | None = None
    ) -> None:
        self.root = Path(root)
        self.kinds = dict(kinds or {})
        for name, kind in self.kinds.items():
            if kind not in KINDS:
                raise NetConfigError(
                    f"interface {name!r}: unknown kind {kind!r} (allowed: {', '.join(KINDS)})"
                )

    def names(self) -> tuple[str, ...]:
        try:
            return tuple(sorted(p.name for p in self.root.iterdir()))
        except OSError as exc:
            raise NetError(f"cannot list {self.root}: {exc}") from exc

    def counters(self, name: str) -> tuple[int, int]:
        stats = self._dir(name) / "statistics"
        return _read_int(stats / "rx_bytes", name), _read_int(stats / "tx_bytes", name)

    def link(self, name: str) -> LinkState:
        path = self._dir(name)
        kind = self.kinds.get(name) or self._guess_kind(name, path)
        rx, tx = self.counters(name)
        ssid, signal = (_wifi_ssid(name), _wifi_signal(name)) if kind == "wifi" else (None, None)
        return LinkState(
            name=name,
            kind=kind,
            operstate=_read_text(path / "operstate", name) or "unknown",
            carrier=_carrier(path),
            addresses=_ipv4(name) + _ipv6(name),
            rx_bytes=rx,
            tx_bytes=tx,
            ssid=ssid,
            signal_dbm=signal,
        )

    def _dir(self, name: str) -> Path:
        if not name or "/" in name or name in (".", ".."):
            raise LinkNotFound(name)
        path = self.root / name
        if not path.exists():
            raise LinkNotFound(name)
        return path

    @staticmethod
    def _guess_kind(name: str, path: Path) -> str:
        if (path / "wireless").exists() or (path / "phy80211").exists():
            return "wifi"
        uevent = _read_text(path / "uevent", name) or ""
        if "DEVTYPE=wwan" in uevent or name.startswith(CELLULAR_PREFIXES):
            return "cellular"
        arphrd = _read_text(path / "type", name)
        if arphrd == str(ARPHRD_LOOPBACK):
            return "loopback"
        return "ethernet" if arphrd == str(ARPHRD_ETHER) else "other"


def _read_text(path: Path, name: str) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        if not path.parent.exists():
            raise LinkNotFound(name) from None
        return None
    except OSError as exc:  # e.g. EINVAL reading carrier of a down interface
        log.debug("cannot read %s: %s", path, exc)
        return None


def _read_int(path: Path, name: str) -> int:
    text = _read_text(path, name)
    try:
        return int(text) if text else 0
    except ValueError as exc:
        raise NetError(f"{path}: not a counter: {text!r}") from exc


def _carrier(path: Path) -> bool:
    return _read_text(path / "carrier", path.name) == "1"


def _ipv4(name: str) -> tuple[str, ...]:
    """The interface's primary IPv4 address (SIOCGIFADDR), if it has one."""
    req = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            reply = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, req)
        except OSError:  # EADDRNOTAVAIL: no IPv4 address; ENODEV: gone meanwhile
            return ()
    return (socket.inet_ntoa(reply[20:24]),)


def _ipv6(name: str) -> tuple[str, ...]:
    """Global and host-scope IPv6 addresses from /proc/net/if_inet6 (link-local cannot route)."""
    try:
        lines = Path("/proc/net/if_inet6").read_text().splitlines()
    except OSError:
        return ()
    found = []
    for line in lines:
        parts = line.split()
        if len(parts) == 6 and parts[5] == name and parts[3] != "20":
            found.append(str(ipaddress.IPv6Address(bytes.fromhex(parts[0]))))
    return tuple(found)


def _wifi_signal(name: str) -> int | None:
    """Signal level in dBm from /proc/net/wireless, when the driver reports it."""
    try:
        lines = Path("/proc/net/wireless").read_text().splitlines()[2:]
    except OSError:
        return None
    for line in lines:
        head, _, rest = line.partition(":")
        if head.strip() == name:
            fields = rest.split()
            try:
                return int(float(fields[2].rstrip(".")))
            except (IndexError, ValueError):
                return None
    return None


def _wifi_ssid(name: str) -> str | None:
    """The SSID the interface is associated with, from `iw dev NAME link` when iw is installed."""
    iw = shutil.which("iw")
    if not iw:
        return None
    try:
        out = subprocess.run(
            [iw, "dev", name, "link"], capture_output=True, text=True, timeout=IW_TIMEOUT_S
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("iw dev %s link failed: %s", name, exc)
        return None
    for line in out.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "SSID":
            return value.strip()
    return None

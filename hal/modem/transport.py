"""Open the modem's serial port from a pyserial URL: a device path (including stable
`/dev/serial/by-id/...` symlinks, resolved again on every reopen so they survive USB
re-enumeration), a pty path, `loop://`, `socket://host:port` or `spy://PORT?file=...`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import serial

from hal.modem.errors import PortGone
from hal.modem.settings import ModemSettings

READ_TIMEOUT_S = 0.1
WRITE_TIMEOUT_S = 2.0

Opener = Callable[[], serial.SerialBase]


def open_port(url: str, baudrate: int = 115200, flow_control: str = "none") -> serial.SerialBase:
    """Open url; raise PortGone (naming the port and the reason) if it is not there."""
    if flow_control not in ("none", "rtscts", "xonxoff"):
        raise ValueError(f"flow_control {flow_control!r}: allowed none, rtscts, xonxoff")
    try:
        return serial.serial_for_url(
            url,
            baudrate=baudrate,
            rtscts=flow_control == "rtscts",
            xonxoff=flow_control == "xonxoff",
            timeout=READ_TIMEOUT_S,
            write_timeout=WRITE_TIMEOUT_S,
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        raise PortGone(url, f"cannot open: {exc}") from exc


def opener_for(settings: ModemSettings) -> Opener:
    """A function that opens the configured port afresh (the channel calls it on every reopen)."""
    return lambda: open_port(settings.port, settings.baudrate, settings.flow_control)


def describe(url: str) -> str:
    """`/dev/serial/by-id/usb-Quectel...-if02-port0 -> /dev/ttyUSB2` for logs; URLs unchanged."""
    if "://" in url or not os.path.islink(url):
        return url
    return f"{url} -> {os.path.realpath(url)}"

"""Errors of the modem layer: one root (`ModemError`), each carrying what a caller needs.

`AtCommandError` and its subclasses carry the command and the modem's final result (`code` for
`+CME ERROR`/`+CMS ERROR`); `AtTimeout` says which command did not answer in time; `PortGone` says
the serial port vanished (USB re-enumeration) and the channel is waiting for it to return.
"""

from __future__ import annotations

from hal.errors import HalError


class ModemError(HalError):
    """Base of every modem-layer error."""


class PortGone(ModemError, ConnectionError):
    """The serial port is closed or vanished; the channel reopens it when it returns."""

    def __init__(self, port: str, reason: str) -> None:
        super().__init__(f"modem port {port}: {reason}")
        self.port = port
        self.reason = reason


class AtTimeout(ModemError, TimeoutError):
    """No final result within the command's timeout."""

    def __init__(self, command: str, timeout_s: float, lines: tuple[str, ...] = ()) -> None:
        super().__init__(f"{command}: no final result within {timeout_s:g} s")
        self.command = command
        self.timeout_s = timeout_s
        self.lines = lines


class AtCommandError(ModemError, RuntimeError):
    """The modem answered with an error final result (ERROR, NO CARRIER, ...)."""

    def __init__(self, command: str, result: str, lines: tuple[str, ...] = ()) -> None:
        super().__init__(f"{command}: {result}")
        self.command = command
        self.result = result
        self.lines = lines


class CommandNotSupported(AtCommandError):
    """`COMMAND NOT SUPPORT` (Quectel) or plain ERROR to a command this firmware lacks."""


class NoCarrier(AtCommandError):
    """`NO CARRIER`: a data call ended or could not start."""


class CmeError(AtCommandError):
    """`+CME ERROR: <n>` or `+CME ERROR: <text>`; `code` is the number when known, else None."""

    def __init__(
        self, command: str, result: str, code: int | None, text: str, lines: tuple[str, ...] = ()
    ) -> None:
        super().__init__(command, result, lines)
        self.code = code
        self.text = text

    @property
    def sim_absent(self) -> bool:
        return self.code in (10, 13) or "not inserted" in self.text.lower()

    @property
    def sim_pin_required(self) -> bool:
        return self.code == 11 or "sim pin required" in self.text.lower()

    @property
    def wrong_password(self) -> bool:
        return self.code == 16 or "incorrect password" in self.text.lower()


class CmsError(CmeError):
    """`+CMS ERROR: <n>`: an SMS-related failure."""


class SimError(ModemError, RuntimeError):
    """The SIM is absent, locked, or its PIN was refused; `state` is the ModemStatus.sim value."""

    def __init__(self, state: str, detail: str) -> None:
        super().__init__(f"SIM {state}: {detail}")
        self.state = state
        self.detail = detail


class RecoveryFailed(ModemError, RuntimeError):
    """Every step of the recovery ladder ran and the modem still does not answer or register."""

    def __init__(self, steps: tuple[str, ...], last: str) -> None:
        super().__init__(f"recovery failed after {', '.join(steps)}: {last}")
        self.steps = steps
        self.last = last


class DataPathError(ModemError, OSError):
    """The host-side data link (usbnet, QMI, PPP) could not be brought up or read."""

    def __init__(self, backend: str, reason: str) -> None:
        super().__init__(f"data path {backend}: {reason}")
        self.backend = backend
        self.reason = reason

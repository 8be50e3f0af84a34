"""The AT channel: one command at a time over a serial port, URCs to subscribers, port loss.

A reader thread turns bytes into lines (`LineSplitter`) and routes each line:
- to the pending command when it is that command's echo, its final result, or an information
  line it expects (a `+CSQ:` while `AT+CSQ` is pending goes to the command, not to subscribers);
- to URC subscribers otherwise (`+CREG:`, `+QIURC:`, `RDY`, ...), even in the middle of a reply;
- a final result with no command pending is stale (the late answer of a timed-out command) and is
  dropped and counted; after a timeout the next command first re-synchronises with `AT`.
When the port vanishes (USB re-enumeration, a closed pty) the pending command fails with
`PortGone`, state subscribers hear `(False, reason)`, and the thread reopens the port every
`reopen_interval_s` until it returns, then tells them `(True, "reopened")`.

Subscriber callbacks run on the reader thread: keep them short and never send a command from one.
"""

from __future__ import annotations

import logging
import re
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import serial

from hal.modem import results
from hal.modem.errors import AtTimeout, ModemError, PortGone
from hal.modem.lines import LineSplitter
from hal.modem.parsers import is_registration_read_reply
from hal.modem.transport import Opener

log = logging.getLogger("hal.modem.at")

UrcCallback = Callable[[str], None]
StateCallback = Callable[[bool, str], None]


@dataclass(frozen=True)
class Reply:
    """A command's information lines and its final result (`OK`, `CONNECT`)."""

    command: str
    lines: tuple[str, ...]
    final: str = "OK"

    def first(self, prefix: str = "") -> str | None:
        """The first line starting with prefix (case-insensitive), or None."""
        return next((x for x in self.lines if x.upper().startswith(prefix.upper())), None)

    def all(self, prefix: str) -> list[str]:
        return [x for x in self.lines if x.upper().startswith(prefix.upper())]


@dataclass
class _Pending:
    command: str
    accept: Callable[[str], bool]
    lines: list[str] = field(default_factory=list)
    final: str | None = None
    lost: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def take(self, line: str) -> bool:
        """Consume the line if it belongs to this command; False leaves it to URC subscribers."""
        if line.upper() == self.command.upper():
            return True  # echo
        if results.is_final(line):
            self.final = line
            self.done.set()
            return True
        if self.accept(line):
            self.lines.append(line)
            return True
        if results.is_urc(line):
            return False
        self.lines.append(line)
        return True


def reply_matcher(command: str) -> Callable[[str], bool]:
    """Which `+` lines answer this command: `AT+CSQ` -> `+CSQ:`; `AT+CREG?` -> the read form only."""
    m = re.match(r"AT([+&$^][A-Z0-9]+)", command.upper())
    if not m:
        return lambda line: False
    prefix = m.group(1) + ":"
    if re.fullmatch(r"\+C(G|E)?REG:", prefix):
        return lambda line: line.upper().startswith(prefix) and is_registration_read_reply(line)
    return lambda line: line.upper().startswith(prefix)


class AtChannel:
    """Thread-safe AT command channel over a port from `opener` (see module docstring)."""

    def __init__(
        self,
        opener: Opener,
        name: str,
        reopen_interval_s: float = 0.5,
        max_line: int = 1024,
        sync_timeout_s: float = 1.0,
    ) -> None:
        self.name = name
        self.stale_lines = 0
        self._opener = opener
        self._reopen_interval_s = reopen_interval_s
        self._sync_timeout_s = sync_timeout_s
        self._splitter = LineSplitter(max_line)
        self._port: serial.SerialBase | None = None
        self._lock = threading.Lock()
        self._port_lock = threading.Lock()
        self._cmd_lock = threading.Lock()
        self._pending: _Pending | None = None
        self._needs_sync = False
        self._urc_subs: list[UrcCallback] = []
        self._state_subs: list[StateCallback] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def open(self) -> AtChannel:
        """Open the port (raise PortGone if absent) and start the reader thread."""
        self._port = self._opener()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"at-{self.name}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        port = self._port
        if port is not None and hasattr(port, "cancel_read"):
            try:
                port.cancel_read()
            except (OSError, serial.SerialException) as exc:
                log.debug("cancel_read on close: %s", exc)
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._close_port()
        self._fail_pending("channel closed")

    def __enter__(self) -> AtChannel:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._port is not None

    # --- subscribers ----------------------------------------------------------------------

    def subscribe(self, callback: UrcCallback) -> Callable[[], None]:
        """Call callback(line) for every URC; returns a function that unsubscribes."""
        self._urc_subs.append(callback)
        return lambda: self._urc_subs.remove(callback) if callback in self._urc_subs else None

    def subscribe_state(self, callback: StateCallback) -> Callable[[], None]:
        """Call callback(connected, reason) when the port vanishes or returns."""
        self._state_subs.append(callback)
        return lambda: self._state_subs.remove(callback) if callback in self._state_subs else None

    def wait_urc(self, predicate: Callable[[str], bool], timeout_s: float) -> str | None:
        """Block until a URC matching predicate arrives (the line) or timeout (None)."""
        got: list[str] = []
        event = threading.Event()

        def on_urc(line: str) -> None:
            if not event.is_set() and predicate(line):
                got.append(line)
                event.set()

        unsubscribe = self.subscribe(on_urc)
        try:
            event.wait(timeout_s)
        finally:
            unsubscribe()
        return got[0] if got else None

    # --- commands -------------------------------------------------------------------------

    def command(self, command: str, timeout_s: float, log_as: str | None = None) -> Reply:
        """Send one command, wait for its final result; raise the typed error for an error result,
        AtTimeout when none comes in time, PortGone when the port is not there."""
        with self._cmd_lock:
            if self._needs_sync:
                self._sync()
            return self._exchange(command, timeout_s, log_as or command)

    def _exchange(self, command: str, timeout_s: float, shown: str) -> Reply:
        pending = _Pending(command, reply_matcher(command))
        with self._lock:
            if self._port is None:
                raise PortGone(self.name, "port is not open (waiting for it to return)")
            self._pending = pending
        try:
            log.debug("-> %s", shown)
            self._write((command + "\r").encode("ascii"))
            if not pending.done.wait(timeout_s):
                self._needs_sync = True
                raise AtTimeout(shown, timeout_s, tuple(pending.lines))
        finally:
            with self._lock:
                self._pending = None
        return self._outcome(pending, shown)

    def _outcome(self, pending: _Pending, shown: str) -> Reply:
        if pending.lost is not None:
            raise PortGone(self.name, pending.lost)
        final = pending.final or ""
        log.debug("<- %s %s", pending.lines, final)
        if not results.is_success(final):
            raise results.error_for(shown, final, tuple(pending.lines))
        return Reply(shown, tuple(pending.lines), final)

    def _sync(self) -> None:
        """After a timeout: `AT` until OK with no stale final result trailing it."""
        last: ModemError | None = None
        for _ in range(3):
            stale = self.stale_lines
            try:
                self._exchange("AT", self._sync_timeout_s, "AT (sync)")
            except (AtTimeout, results.AtCommandError) as exc:
                last = exc
                continue
            time.sleep(min(0.2, self._sync_timeout_s))
            if self.stale_lines == stale:
                self._needs_sync = False
                return
        raise last or AtTimeout("AT (sync)", self._sync_timeout_s)

    def _write(self, data: bytes) -> None:
        port = self._port
        if port is None:
            raise PortGone(self.name, "port is not open")
        try:
            port.write(data)
            port.flush()
        except (serial.SerialException, OSError, termios.error, TypeError, AttributeError) as exc:
            # termios.error: tcdrain on a vanished pty; TypeError/AttributeError: the reader
            # thread closed the port under us (pyserial then has no fd)
            reason = str(exc) if "write failed" in str(exc) else f"write failed: {exc}"
            self._lost(reason)
            raise PortGone(self.name, reason) from exc

    # --- reader thread --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            port = self._port
            if port is None:
                self._try_reopen()
                continue
            try:
                data = port.read(port.in_waiting or 1)
            except (serial.SerialException, OSError, termios.error, TypeError,
                    AttributeError) as exc:
                if not self._stop.is_set():
                    self._lost(f"read failed: {exc}")
                continue
            for line in self._splitter.feed(data):
                self._route(line)

    def _route(self, line: str) -> None:
        with self._lock:
            pending = self._pending
            if pending is not None and pending.take(line):
                return
        if results.is_final(line):
            self.stale_lines += 1
            log.debug("stale final result dropped: %r", line)
        elif line.upper().startswith("AT") and not results.is_urc(line):
            log.debug("echo dropped: %r", line)
        else:
            self._publish(line)

    def _publish(self, line: str) -> None:
        log.debug("URC %s", line)
        for callback in list(self._urc_subs):
            try:
                callback(line)
            except Exception:  # a subscriber bug must not kill the reader thread
                log.exception("URC subscriber failed on %r", line)

    def _lost(self, reason: str) -> None:
        with self._port_lock:  # the reader and a writer may both notice: report it once
            if self._port is None:
                return
            self._close_port()
        log.warning("modem port %s lost: %s", self.name, reason)
        self._fail_pending(reason)
        self._notify(False, reason)

    def _try_reopen(self) -> None:
        if self._stop.wait(self._reopen_interval_s):
            return
        try:
            port = self._opener()
        except ModemError as exc:
            log.debug("reopen %s: %s", self.name, exc)
            return
        self._splitter.reset()
        self._port = port
        self._needs_sync = False
        log.warning("modem port %s is back", self.name)
        self._notify(True, "reopened")

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (OSError, serial.SerialException) as exc:
                log.debug("closing %s: %s", self.name, exc)

    def _fail_pending(self, reason: str) -> None:
        with self._lock:
            pending = self._pending
        if pending is not None:
            pending.lost = reason
            pending.done.set()

    def _notify(self, connected: bool, reason: str) -> None:
        for callback in list(self._state_subs):
            try:
                callback(connected, reason)
            except Exception:  # a subscriber bug must not kill the reader thread
                log.exception("state subscriber failed")

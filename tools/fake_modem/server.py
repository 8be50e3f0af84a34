"""Serve the fake modem on a pty pair; the client opens the printed path (a symlink to the slave).

One thread reads commands from the pty master, answers through the `Engine`, emits URCs and the
scenario's faults on time. The port "vanishing" closes the pty and removes the symlink; when it
"returns", a new pty is made and the symlink points at it (like a by-id path after USB
re-enumeration).
"""

from __future__ import annotations

import logging
import os
import pty
import re
import select
import threading
import time
import tty
from pathlib import Path

from tools.fake_modem.engine import Engine
from tools.fake_modem.scenario import Scenario

log = logging.getLogger("fake_modem")
GARBAGE = b"\x00\xfe\xff\x80garbage\xc3\x28\x00\r\n"


class FakeModem:
    """A fake EC25 serving `scenario` at `link` (a symlink path to the current pty slave)."""

    def __init__(self, scenario: Scenario, link: str | os.PathLike[str]) -> None:
        self.scenario = scenario
        self.link = Path(link)
        self.engine = Engine(scenario, time.monotonic())
        self._master: int | None = None
        self._slave: int | None = None
        self._inbuf = bytearray()
        self._outbox: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._boot_at: float | None = None
        self._back_at: float | None = None
        self._done_faults: set[tuple[str, int]] = set()
        self.vanish_count = 0

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeModem:
        self._started = time.monotonic()
        self._open_pty()
        if self.scenario.fault("leading_ff", False):
            self._write(b"\xff" * 32 + b"\r\nRDY\r\n")
        self._thread = threading.Thread(target=self._run, name="fake-modem", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._close_pty()

    def __enter__(self) -> FakeModem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def path(self) -> str:
        return str(self.link)

    def _open_pty(self) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        tmp = self.link.with_name(self.link.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        os.replace(tmp, self.link)

    def _close_pty(self) -> None:
        self.link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        self._inbuf.clear()

    # --- main loop ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            self._faults(now)
            if self._master is None:
                time.sleep(0.01)
                continue
            ready, _, _ = select.select([self._master], [], [], 0.01)
            if ready:
                self._read()
            if self._boot_at is None:
                for line in self.engine.tick(now):
                    self._send(line)
            self._flush(time.monotonic())

    def _read(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except OSError:
            return  # no client has the slave open right now
        self._inbuf += data
        while True:
            m = re.search(rb"[\r\n]", self._inbuf)
            if m is None:
                break
            raw = bytes(self._inbuf[: m.start()])
            del self._inbuf[: m.end()]
            command = raw.decode("ascii", "replace").strip()
            if command:
                self._command(command)

    def _command(self, command: str) -> None:
        if self._boot_at is not None:
            return  # rebooting: nothing answers
        if self.engine.echo:
            self._write(command.encode() + b"\r")
        now = time.monotonic()
        if re.fullmatch(r"AT\+CFUN=1,1", command, re.IGNORECASE):
            self.engine.commands.append(command)
            self._send("OK")
            self._flush(now)
            self._begin_reboot(now)
            return
        lines = self.engine.handle(command, now)
        if lines is None:
            log.info("not answering %s (scenario: hang)", command)
            return
        delay = float(self.scenario.fault("slow_s", 0.0))
        for line in lines:
            self._send(line, now + delay)

    # --- faults ---------------------------------------------------------------------------

    def _due(self, kind: str, times: list[float], now: float) -> bool:
        for i, at in enumerate(times):
            if (kind, i) not in self._done_faults and now - self._started >= float(at):
                self._done_faults.add((kind, i))
                return True
        return False

    def _faults(self, now: float) -> None:
        sc = self.scenario
        if self._due("garbage", sc.fault("garbage_at", []), now):
            self._write(GARBAGE)
        if self._due("reboot", sc.fault("reboot_at", []), now):
            self._begin_reboot(now)
        if self._due("vanish", sc.fault("vanish_at", []), now):
            self._vanish(now, float(sc.fault("vanish_for_s", 1.0)))
        for i, urc in enumerate(sc.urc):
            if self._due(f"urc{i}", [urc["at"]], now):
                if "pdpdeact" in urc["text"].lower():
                    self.engine.pdp_active = False
                self._send(urc["text"])
        if self._back_at is not None and now >= self._back_at:
            self._back_at = None
            self._open_pty()
            log.info("port is back at %s", self.link)
        if self._boot_at is not None and now >= self._boot_at and self._master is not None:
            self._boot_at = None
            self.engine.reboot(now)
            for line in self.engine.boot_burst():
                self._send(line)

    def _begin_reboot(self, now: float) -> None:
        boot_s = float(self.scenario.fault("reboot_s", 0.3))
        self._boot_at = now + boot_s
        with self._lock:
            self._outbox.clear()
        if self.scenario.fault("reboot_vanishes", False):
            self._vanish(now, boot_s / 2)

    def _vanish(self, now: float, for_s: float) -> None:
        log.info("port vanishes for %.2f s", for_s)
        self.vanish_count += 1
        self._close_pty()
        self._back_at = now + for_s

    # --- output ---------------------------------------------------------------------------

    def _send(self, line: str, at: float = 0.0) -> None:
        with self._lock:
            self._outbox.append((at, b"\r\n" + line.encode() + b"\r\n"))

    def _flush(self, now: float) -> None:
        with self._lock:
            due = [item for item in self._outbox if item[0] <= now]
            self._outbox = [item for item in self._outbox if item[0] > now]
        for _, data in due:
            self._write(data)

    def _write(self, data: bytes) -> None:
        if self._master is None:
            return
        try:
            os.write(self._master, data)
        except OSError as exc:
            log.info("write to pty dropped: %s", exc)

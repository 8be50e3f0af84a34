"""The modem driver: bring-up, SIM, registration, signal, APN, data session, watch, recovery.

Usage (the whole API the agent and the upload policy need):

    modem = Modem(ModemSettings(port="/dev/ttyUSB2", apn="internet"))
    modem.start()                          # open the port, bring the modem up (ATE0, CMEE=2, URCs)
    unsubscribe = modem.subscribe(on_event)  # on_event(ModemEvent): registered, roaming, lost,
                                           # data_up, data_down, signal, sim, restarted, port_*
    status = modem.status()                # query everything -> ModemStatus (also emits events)
    modem.current                          # the last snapshot, no I/O (URCs keep it fresh)
    modem.watch(stop_event)                # loop: poll, keep data up, recover; until stop is set
    modem.close()

Events are delivered on the reader thread (URCs) or the calling/watch thread (polls): keep
callbacks short and never call the modem from one.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from hal.modem import parsers
from hal.modem.channel import AtChannel, Reply
from hal.modem.datapath import DataPath, datapath_for
from hal.modem.dialect import Dialect, apn_command, dialect_for
from hal.modem.errors import AtCommandError, AtTimeout, CmeError, ModemError, PortGone, SimError
from hal.modem.pin_attempts import PinAttempts
from hal.modem.recovery import Step, run_hook, run_ladder
from hal.modem.settings import ModemSettings
from hal.modem.status import ModemEvent, ModemStatus, events_between
from hal.modem.transport import describe, opener_for

log = logging.getLogger("hal.modem")
EventCallback = Callable[[ModemEvent], None]
FROM_DOMAINS = object()  # sentinel for _set: combine the per-domain registration states


class Modem:
    """A cellular modem on an AT port (generic 27.007, Quectel dialect from ATI)."""

    def __init__(
        self,
        settings: ModemSettings,
        channel: AtChannel | None = None,
        datapath: DataPath | None = None,
    ) -> None:
        self.settings = settings
        self.channel = channel or AtChannel(
            opener_for(settings), settings.port, settings.reopen_interval_s
        )
        self.datapath = datapath or datapath_for(settings)
        self.dialect = Dialect()
        self.identity: parsers.Identity | None = None
        self._status = ModemStatus(port=settings.port)
        self._regs: dict[str, str] = {}  # registration per domain (CREG/CGREG/CEREG)
        self._reg_urcs: dict[str, int] = {}  # URCs seen per domain, to spot stale read replies
        self._subs: list[EventCallback] = []
        self._lock = threading.Lock()
        self._pin_attempts = PinAttempts(settings.pin_state_file)
        self._wake = threading.Event()
        self._needs_bring_up = False
        self.channel.subscribe(self._on_urc)  # here, not in start(): start() may be retried
        self.channel.subscribe_state(self._on_port)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, wait_s: float = 0.0) -> Modem:
        """Open the port and bring the modem up; wait up to wait_s for a port that is not there
        yet (a module still enumerating at boot); raise PortGone/AtTimeout if it never answers."""
        log.info("modem on %s", describe(self.settings.port))
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.channel.open()
                break
            except PortGone:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(self.settings.reopen_interval_s)
        self.bring_up()
        return self

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Modem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cmd(self, command: str, log_as: str | None = None) -> Reply:
        """One AT command with its class's configured timeout."""
        return self.channel.command(command, self.settings.timeout_for(command), log_as)

    def bring_up(self, wait_s: float | None = None) -> parsers.Identity:
        """AT until it answers, echo off, verbose errors, identity and dialect, registration URCs."""
        self._await_at(self.settings.timeout_default_s if wait_s is None else wait_s)
        self._try("ATE0")
        self._try("AT+CMEE=2")
        self.identity = parsers.parse_ati(list(self.cmd("ATI").lines))
        self.dialect = dialect_for(self.identity.manufacturer)
        for domain in ("CREG", "CGREG", "CEREG"):
            self._try(f"AT+{domain}=2")
        self._needs_bring_up = False
        self._set(model=self.identity.model, revision=self.identity.revision)
        log.info("modem %s %s (%s dialect)", self.identity.model, self.identity.revision,
                 self.dialect.name)
        return self.identity

    def _await_at(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.channel.command("AT", min(1.0, self.settings.timeout_default_s))
                return
            except (ModemError, OSError):
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _try(self, command: str, log_as: str | None = None) -> Reply | None:
        """A command whose failure is tolerated (logged once): None on an error result or a
        timeout (the channel re-synchronises before the next command)."""
        try:
            return self.cmd(command, log_as)
        except AtCommandError as exc:
            log.info("%s not accepted: %s", log_as or command, exc.result)
        except AtTimeout as exc:
            log.warning("%s", exc)
        return None

    # --- events ---------------------------------------------------------------------------

    def subscribe(self, callback: EventCallback) -> Callable[[], None]:
        """callback(ModemEvent) on every change; returns a function that unsubscribes."""
        self._subs.append(callback)
        return lambda: self._subs.remove(callback) if callback in self._subs else None

    @property
    def current(self) -> ModemStatus:
        """The latest snapshot (no I/O)."""
        return self._status

    def _set(self, **changes: object) -> ModemStatus:
        """Replace fields of the snapshot and emit the events; registration=FROM_DOMAINS takes
        the combined per-domain state under the lock (so a fresher URC is never overwritten)."""
        with self._lock:
            if changes.get("registration") is FROM_DOMAINS:
                changes["registration"] = parsers.combine_registration(list(self._regs.values()))
            old = self._status
            new = self._status = old.replace(**changes)
        self._emit(events_between(old, new))
        return new

    def _emit(self, events: list[ModemEvent]) -> None:
        for event in events:
            log.info("modem event %s: %s", event.kind, event.detail)
            for callback in list(self._subs):
                try:
                    callback(event)
                except Exception:  # a subscriber bug must not stop the modem
                    log.exception("modem event subscriber failed on %s", event.kind)

    def _on_urc(self, line: str) -> None:
        upper = line.upper()
        if upper.startswith(("+CREG:", "+CGREG:", "+CEREG:")):
            try:
                reg = parsers.parse_registration(line)
            except parsers.ParseError as exc:
                log.warning("%s", exc)
                return
            with self._lock:
                self._regs[reg.domain] = reg.state
                self._reg_urcs[reg.domain] = self._reg_urcs.get(reg.domain, 0) + 1
            self._set(registration=FROM_DOMAINS)
            self._wake.set()  # operator and access technology change with it: poll soon
        elif "PDPDEACT" in upper:
            self._set(data_session="down", data_address=None)
            self._wake.set()
        elif upper == "RDY":
            self._modem_restarted("RDY")
        elif "POWER DOWN" in upper or upper == "POWERED DOWN":
            self._clear_registration()
        elif upper.startswith("+CPIN:"):
            self._set(sim=parsers.parse_cpin(line))

    def _modem_restarted(self, why: str) -> None:
        self._needs_bring_up = True
        self._clear_registration()
        self._emit([ModemEvent("restarted", self._status, why)])
        self._wake.set()

    def _clear_registration(self) -> None:
        with self._lock:
            self._regs.clear()
        self._set(registration=FROM_DOMAINS, data_session="down", data_address=None)

    def _on_port(self, connected: bool, reason: str) -> None:
        kind = "port_back" if connected else "port_lost"
        self._emit([ModemEvent(kind, self._status, reason)])
        if connected:
            self._modem_restarted("port returned")

    # --- queries --------------------------------------------------------------------------

    def sim_state(self) -> str:
        """AT+CPIN?: ready, absent, pin_required, puk_required or error."""
        try:
            line = self.cmd("AT+CPIN?").first("+CPIN:")
        except CmeError as exc:
            if exc.sim_absent:
                return "absent"
            log.warning("AT+CPIN?: %s", exc)
            return "error"
        return parsers.parse_cpin(line) if line else "error"

    def unlock_sim(self) -> str:
        """Enter the configured PIN if the SIM asks. A PIN the SIM did not accept is never sent
        to that SIM (ICCID) again, across restarts: three wrong tries lock it. An accepted PIN is
        entered again when the SIM asks again (after a modem reset)."""
        state = self.sim_state()
        if state != "pin_required" or not self.settings.pin:
            return state
        sim_id = self.iccid() or "unknown-sim"
        if self._pin_attempts.tried(sim_id):
            raise SimError("pin_required", "the configured PIN was already tried on this SIM "
                           "without success; not retried (three wrong tries lock it)")
        self._pin_attempts.mark(sim_id)  # durable before the PIN goes out
        try:
            self.cmd(f'AT+CPIN="{self.settings.pin}"', log_as="AT+CPIN=***")
        except CmeError as exc:
            raise SimError("pin_required", f"the SIM refused the configured PIN ({exc.result}); "
                           "it will not be retried on this SIM") from exc
        state = self._await_sim_ready()
        if state == "ready":
            self._pin_attempts.clear(sim_id)
        return state

    def _await_sim_ready(self) -> str:
        deadline = time.monotonic() + self.settings.timeout_cpin_s
        state = self.sim_state()
        while state != "ready" and time.monotonic() < deadline:
            time.sleep(0.1)
            state = self.sim_state()
        return state

    def registration(self) -> str:
        """CREG?/CGREG?/CEREG?, combined: registered in any domain counts. A domain whose URC
        arrived while its query ran keeps the URC's (fresher) state."""
        for domain in ("CREG", "CGREG", "CEREG"):
            seen = self._reg_urcs.get(domain, 0)
            reply = self._try(f"AT+{domain}?")
            line = reply.first(f"+{domain}:") if reply else None
            if line:
                state = parsers.parse_registration(line).state
                with self._lock:
                    if self._reg_urcs.get(domain, 0) == seen:
                        self._regs[domain] = state
        with self._lock:
            return parsers.combine_registration(list(self._regs.values()))

    def signal(self) -> dict[str, object]:
        sig = parsers.parse_csq(self.cmd("AT+CSQ").first("+CSQ:") or "")
        out: dict[str, object] = {"signal_dbm": sig.dbm, "rssi": sig.rssi, "ber": sig.ber}
        if self.dialect.signal_quality:
            reply = self._try(self.dialect.signal_quality)
            line = reply.first("+QCSQ:") if reply else None
            if line:
                q = parsers.parse_qcsq(line)
                out.update(rsrp_dbm=q.rsrp_dbm, rsrq_db=q.rsrq_db, sinr_db=q.sinr_db)
        return out

    def operator(self) -> dict[str, object]:
        op = parsers.parse_cops(self.cmd("AT+COPS?").first("+COPS:") or "")
        out: dict[str, object] = {"operator": op.name, "access_technology": op.access_technology}
        if self.dialect.network_info:
            reply = self._try(self.dialect.network_info)
            line = reply.first("+QNWINFO:") if reply else None
            if line:
                info = parsers.parse_qnwinfo(line)
                out.update(mcc_mnc=info.mcc_mnc, band=info.band)
                out["access_technology"] = info.access_technology or out["access_technology"]
        return out

    def imei(self) -> str:
        reply = self.cmd("AT+CGSN")
        return parsers.parse_imei(next(x for x in reply.lines if x.strip()))

    def iccid(self) -> str | None:
        for command in self.dialect.iccid_commands:
            reply = self._try(command)
            if reply and reply.lines:
                return parsers.parse_iccid(reply.lines[0])
        return None

    def network_time(self) -> dt.datetime | None:
        """The network's time (NITZ) for the device clock, None if the modem has none."""
        for command in self.dialect.time_commands:
            reply = self._try(command)
            line = reply.lines[0] if reply and reply.lines else None
            if line:
                parse = parsers.parse_qlts if "QLTS" in line.upper() else parsers.parse_cclk
                return parse(line)
        return None

    def data_session(self) -> tuple[bool, str | None]:
        """Is the PDP context active, and its address."""
        reply = self.cmd(self.dialect.session_query)
        if self.dialect.name == "quectel":
            rows = [parsers.parse_qiact(x) for x in reply.all("+QIACT:")]
            active = [r for r in rows if r[0] == 1 and r[1]]
            return (True, active[0][2]) if active else (False, None)
        up = any(cid == 1 and on for cid, on in map(parsers.parse_cgact, reply.all("+CGACT:")))
        if not up:
            return False, None
        addr = self._try("AT+CGPADDR=1")
        return True, parsers.parse_cgpaddr(addr.lines[0])[1] if addr and addr.lines else None

    def status(self) -> ModemStatus:
        """Query everything; a query that fails leaves its fields unknown and is listed in
        `errors`. Emits the events the changes mean."""
        if self._needs_bring_up:
            self.bring_up(self.settings.timeout_reset_s)
        errors: list[str] = []
        values: dict[str, object] = {"sim": self._query(self.sim_state, errors) or "error"}
        values["imei"] = self._query(self.imei, errors)
        values["iccid"] = self._query(self.iccid, errors) if values["sim"] != "absent" else None
        self._query(self.registration, errors)
        values["registration"] = FROM_DOMAINS
        values.update(self._query(self.operator, errors) or {})
        values.update(self._query(self.signal, errors) or {})
        values["network_time"] = self._query(self.network_time, errors)
        up, addr = self._query(self.data_session, errors) or (False, None)
        link = self.datapath.info()
        values.update(data_session="up" if up else "down", data_address=addr,
                      data_interface=link.interface or None, errors=tuple(errors))
        return self._set(**values)

    def _query(self, fn: Callable[[], Any], errors: list[str]) -> Any:
        try:
            return fn()
        except PortGone:
            raise
        except (ModemError, StopIteration) as exc:
            errors.append(f"{getattr(fn, '__name__', fn)}: {exc}")
            log.info("modem query %s failed: %s", getattr(fn, "__name__", fn), exc)
            return None

    # --- data -----------------------------------------------------------------------------

    def configure_apn(self, mcc_mnc: str | None = None) -> str:
        """Set the PDP context 1 APN (from the MCC-MNC table or `apn`) with its auth."""
        apn = self.settings.apn_for(mcc_mnc or self._status.mcc_mnc)
        if not apn:
            return ""
        s = self.settings
        self.cmd(apn_command(apn, s.pdp_type))
        auth = self.dialect.apn_auth(apn, s.pdp_type, s.apn_user, s.apn_password, s.apn_auth)
        if auth:
            self.cmd(auth, log_as=auth.split("=", 1)[0] + "=***")
        return apn

    def activate_data(self) -> ModemStatus:
        """Activate the PDP context and bring the host link up; emits data_up."""
        up, addr = self.data_session()
        if not up:
            self.configure_apn()
            self.cmd(self.dialect.activate)
            up, addr = self.data_session()
        link = self.datapath.up(self.cmd, addr) if up else self.datapath.info()
        return self._set(data_session="up" if up else "down", data_address=addr,
                         data_interface=link.interface or None)

    def deactivate_data(self) -> ModemStatus:
        self.datapath.down(self.cmd)
        self._try(self.dialect.deactivate)
        return self._set(data_session="down", data_address=None)

    # --- watch and recovery ---------------------------------------------------------------

    def poll(self, keep_data: bool = True, data_when_roaming: bool = True) -> ModemStatus:
        """One watch round: status; unlock the SIM; data back up when registered and down
        (when roaming only if data_when_roaming)."""
        status = self.status()
        if status.sim == "pin_required" and self.settings.pin:
            self.unlock_sim()
            status = self.status()
        allowed = status.registration == "home" or (
            status.registration == "roaming" and data_when_roaming
        )
        if keep_data and allowed and status.data_session == "down":
            status = self.activate_data()
        return status

    def watch(
        self, stop: threading.Event, keep_data: bool = True, data_when_roaming: bool = True
    ) -> None:
        """Poll every poll_interval_s (sooner after a URC that needs it); recover on failures."""
        last = ""
        while not stop.is_set():
            try:
                self.poll(keep_data, data_when_roaming)
                last = ""
            except PortGone as exc:
                last = self._log_once(logging.WARNING, f"modem watch: {exc}", last)
            except SimError as exc:
                last = self._log_once(logging.ERROR, f"modem watch: {exc}", last)
            except ModemError as exc:
                log.warning("modem watch: %s; starting recovery", exc)
                self._recover_logged()
            self._wake.wait(self.settings.poll_interval_s)
            self._wake.clear()

    @staticmethod
    def _log_once(level: int, text: str, last: str) -> str:
        """Log a failure when it is new; the same failure again is only debug noise."""
        log.log(level if text != last else logging.DEBUG, "%s", text)
        return text

    def wake(self) -> None:
        """Make a sleeping watch() poll now (and notice a stop request)."""
        self._wake.set()

    def _recover_logged(self) -> None:
        try:
            self.recover()
        except ModemError as exc:
            log.error("%s", exc)

    def recover(self) -> str:
        """Run the recovery ladder; returns the step that made the modem healthy again."""
        return run_ladder(self.recovery_steps(), self._healthy)

    def recovery_steps(self) -> list[Step]:
        steps = [
            Step("reregister", lambda: self.cmd("AT+COPS=0") and None),
            Step("cfun_cycle", self._cfun_cycle),
            Step("modem_reset", lambda: self._reset(lambda: self._try("AT+CFUN=1,1"))),
        ]
        if self.settings.reset_hook:
            hook = self.settings.reset_hook
            steps.append(Step("hardware_reset", lambda: self._reset(
                lambda: run_hook(hook, self.settings.timeout_reset_s))))
        return steps

    def _cfun_cycle(self) -> None:
        self.cmd("AT+CFUN=0")
        self.cmd("AT+CFUN=1")

    def _reset(self, action: Callable[[], object]) -> None:
        ready = threading.Event()
        unsub = self.channel.subscribe(lambda line: line.upper() == "RDY" and ready.set())
        unsub_state = self.channel.subscribe_state(lambda ok, _r: ok and ready.set())
        try:
            try:
                action()
            except PortGone as exc:
                log.info("port went away during reset: %s", exc)
            ready.wait(self.settings.timeout_reset_s)
        finally:
            unsub()
            unsub_state()
        self.bring_up(self.settings.timeout_reset_s)

    def _healthy(self) -> bool:
        deadline = time.monotonic() + self.settings.timeout_cops_set_s
        while True:
            try:
                if self.status().registered:
                    return True
            except ModemError as exc:
                log.info("not healthy yet: %s", exc)
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.5, self.settings.poll_interval_s))

"""The fake EC25's brain: state and AT command answers, with no I/O (the server does the pty).

`handle(command, now)` returns the reply lines (or None for a command that never answers);
`tick(now)` returns URC lines due (registration changes, scenario URCs). Clock-driven by the caller.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from tools.fake_modem.scenario import Scenario

CME_TEXT = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    16: "incorrect password",
    30: "no network service",
    100: "unknown",
}
QNW_ACT = {7: "FDD LTE", 2: "WCDMA", 0: "GSM", 3: "EDGE", 6: "HSPA+"}


class Engine:
    def __init__(self, scenario: Scenario, now: float) -> None:
        self.sc = scenario
        self.started = now
        self.sim_state = scenario.sim["state"]
        self.pin_tries = int(scenario.sim.get("tries", 3))
        self.pin_attempts = 0
        self.commands: list[str] = []
        self.reset_count = 0
        self._after_reset = False
        self._power_on(now)
        self._handlers: list[tuple[re.Pattern[str], Callable[..., list[str]]]] = [
            (re.compile(p, re.IGNORECASE), h) for p, h in self._table()
        ]

    def _power_on(self, now: float) -> None:
        self.echo = True
        self.cmee = 0
        self.reg_mode = {"CREG": 0, "CGREG": 0, "CEREG": 0}
        self.cfun = 1
        self.pdp_active = False
        self.radio_t0 = now
        self.last_stat: int | None = None
        self.apn = ""
        self.usbnet = 1
        self.synced_time = False

    # --- timeline -------------------------------------------------------------------------

    def _timeline(self) -> tuple[dict, ...]:
        if self._after_reset and self.sc.registration_after_reset:
            return self.sc.registration_after_reset
        return self.sc.registration

    def _entry(self, items: tuple[dict, ...], now: float) -> dict:
        t = now - self.radio_t0
        current = items[0] if items else {}
        for item in items:
            if float(item["at"]) <= t:
                current = item
        return current

    def reg(self, now: float) -> dict:
        if self.cfun != 1 or self.sim_state != "ready":
            return {"stat": 0}
        return self._entry(self._timeline(), now)

    def stat(self, now: float) -> int:
        return int(self.reg(now).get("stat", 0))

    def registered(self, now: float) -> bool:
        return self.stat(now) in (1, 5)

    def sig(self, now: float) -> dict:
        if self.cfun != 1:
            return {"rssi": 99, "ber": 99}
        return self._entry(self.sc.signal, now)

    def net(self, now: float, key: str) -> object:
        return self.reg(now).get(key, self.sc.network[key])

    def tick(self, now: float) -> list[str]:
        """URCs due now: a registration change (per enabled domain)."""
        stat = self.stat(now)
        if stat == self.last_stat:
            return []
        self.last_stat = stat
        if stat in (1, 5):
            self.synced_time = True
        else:
            self.pdp_active = False
        return [self._reg_line(d, stat, now, read=False) for d, n in self.reg_mode.items() if n]

    def _reg_line(self, domain: str, stat: int, now: float, read: bool) -> str:
        n = self.reg_mode[domain]
        head = f"+{domain}: " + (f"{n}," if read else "")
        if n == 2 and stat in (1, 5):
            act = self.net(now, "act")
            return head + f'{stat},"{self.sc.network["lac"]}","{self.sc.network["ci"]}",{act}'
        return head + str(stat)

    # --- commands -------------------------------------------------------------------------

    def handle(self, command: str, now: float) -> list[str] | None:
        self.commands.append(command)
        for hang in self.sc.fault("hang", []):
            if command.upper().startswith(hang.upper()):
                return None
        body = command.strip()
        for pattern, handler in self._handlers:
            m = pattern.fullmatch(body)
            if m:
                return handler(now, *m.groups())
        if re.fullmatch(r"AT[+&][A-Z]+.*", body, re.IGNORECASE) and _BENIGN.match(body):
            return ["OK"]
        return ["ERROR"]

    def cme(self, code: int) -> list[str]:
        if self.cmee == 1:
            return [f"+CME ERROR: {code}"]
        if self.cmee == 2:
            return [f"+CME ERROR: {CME_TEXT[code]}"]
        return ["ERROR"]

    def _sim_guard(self) -> list[str] | None:
        if self.sim_state == "absent":
            return self.cme(10)
        if self.sim_state == "pin_required":
            return self.cme(11)
        if self.sim_state == "puk_required":
            return self.cme(12)
        return None

    def _table(self) -> list[tuple[str, Callable[..., list[str]]]]:
        idn = self.sc.identity
        return [
            (r"AT", lambda now: ["OK"]),
            (r"ATE([01]?)", self._echo),
            (
                r"ATI",
                lambda now: [
                    idn["manufacturer"],
                    idn["model"],
                    f"Revision: {idn['revision']}",
                    "OK",
                ],
            ),
            (r"AT\+CGMI", lambda now: [idn["manufacturer"], "OK"]),
            (r"AT\+CGMM", lambda now: [idn["model"], "OK"]),
            (r"AT\+(?:CGMR|GMR)", lambda now: [idn["revision"], "OK"]),
            (r"AT\+(?:CGSN|GSN)", lambda now: [idn["imei"], "OK"]),
            (r"AT\+CMEE=([012])", self._cmee),
            (r"AT\+CMEE\?", lambda now: [f"+CMEE: {self.cmee}", "OK"]),
            (r"AT\+(C|CG|CE)REG=([012])", self._reg_set),
            (r"AT\+(C|CG|CE)REG\?", self._reg_read),
            (r"AT\+CPIN\?", self._cpin_read),
            (r'AT\+CPIN="?([0-9]+)"?', self._cpin_set),
            (r"AT\+(QCCID|CCID|ICCID)", self._iccid),
            (r"AT\+CIMI", lambda now: self._sim_guard() or [idn["imsi"], "OK"]),
            (r"AT\+CSQ", self._csq),
            (r"AT\+QCSQ", self._qcsq),
            (r"AT\+CESQ", self._cesq),
            (r"AT\+COPS\?", self._cops),
            (
                r"AT\+COPS=\?",
                lambda now: [
                    f'+COPS: (2,"{self.sc.network["operator"]}","",'
                    f'"{self.sc.network["mcc_mnc"]}",7),,(0-4),(0-2)',
                    "OK",
                ],
            ),
            (r"AT\+COPS=.*", lambda now: ["OK"]),
            (r"AT\+QNWINFO", self._qnwinfo),
            (r'AT\+CGDCONT=1,"?([A-Z0-9]+)"?,"?([^"]*)"?', self._cgdcont),
            (
                r"AT\+CGDCONT\?",
                lambda now: [f'+CGDCONT: 1,"IP","{self.apn}","0.0.0.0",0,0,0,0', "OK"],
            ),
            (r"AT\+QICSGP=.*", lambda now: ["OK"]),
            (r"AT\+CGAUTH=.*", lambda now: ["OK"]),
            (r"AT\+(?:CGACT=1,1|QIACT=1)", self._activate),
            (r"AT\+(?:CGACT=0,1|QIDEACT=1)", self._deactivate),
            (r"AT\+CGACT\?", lambda now: [f"+CGACT: 1,{int(self.pdp_active)}", "OK"]),
            (r"AT\+QIACT\?", self._qiact),
            (r"AT\+CGPADDR(?:=1)?", self._cgpaddr),
            (r"AT\+CGATT\?", lambda now: [f"+CGATT: {int(self.registered(now))}", "OK"]),
            (r"AT\+CCLK\?", self._cclk),
            (r"AT\+QLTS(?:=[0-2])?", self._qlts),
            (r"AT\+CFUN\?", lambda now: [f"+CFUN: {self.cfun}", "OK"]),
            (r"AT\+CFUN=([01])", self._cfun),
            (r'AT\+QCFG="usbnet"(?:,([0-9]))?', self._usbnet),
            (r"AT\+QNETDEVCTL=.*", lambda now: ["OK"] if self.registered(now) else ["ERROR"]),
        ]

    def _echo(self, now: float, flag: str) -> list[str]:
        if not self.sc.fault("echo_stuck", False):
            self.echo = flag == "1"
        return ["OK"]

    def _cmee(self, now: float, mode: str) -> list[str]:
        self.cmee = int(mode)
        return ["OK"]

    def _reg_set(self, now: float, dom: str, mode: str) -> list[str]:
        self.reg_mode[f"{dom.upper()}REG"] = int(mode)
        return ["OK"]

    def _reg_read(self, now: float, dom: str) -> list[str]:
        return [self._reg_line(f"{dom.upper()}REG", self.stat(now), now, read=True), "OK"]

    def _cpin_read(self, now: float) -> list[str]:
        words = {"ready": "READY", "pin_required": "SIM PIN", "puk_required": "SIM PUK"}
        if self.sim_state == "absent":
            return self.cme(10)
        return [f"+CPIN: {words[self.sim_state]}", "OK"]

    def _cpin_set(self, now: float, pin: str) -> list[str]:
        if self.sim_state != "pin_required":
            return self._sim_guard() or self.cme(3)
        self.pin_attempts += 1
        if pin == str(self.sc.sim["pin"]):
            self.sim_state = "ready"
            self.radio_t0 = now
            return ["OK", "+CPIN: READY"]
        self.pin_tries -= 1
        if self.pin_tries <= 0:
            self.sim_state = "puk_required"
        return self.cme(16)

    def _iccid(self, now: float, which: str) -> list[str]:
        if self.sim_state == "absent":
            return self.cme(10)
        iccid = self.sc.identity["iccid"]
        line = {"QCCID": f"+QCCID: {iccid}F", "CCID": f'+CCID: "{iccid}"'}.get(
            which.upper(), f"+ICCID: {iccid}"
        )
        return [line, "OK"]

    def _csq(self, now: float) -> list[str]:
        s = self.sig(now)
        return [f"+CSQ: {s.get('rssi', 99)},{s.get('ber', 99)}", "OK"]

    def _qcsq(self, now: float) -> list[str]:
        s = self.sig(now)
        if not self.registered(now) or s.get("rssi", 99) == 99:
            return ['+QCSQ: "NOSERVICE"', "OK"]
        rssi = -113 + 2 * int(s["rssi"])
        rsrp, rsrq, sinr = s.get("rsrp", rssi - 20), s.get("rsrq", -10), s.get("sinr", 150)
        return [f'+QCSQ: "LTE",{rssi},{rsrp},{sinr},{rsrq}', "OK"]

    def _cesq(self, now: float) -> list[str]:
        return ["+CESQ: 99,99,255,255,20,40", "OK"]

    def _cops(self, now: float) -> list[str]:
        if not self.registered(now):
            return ["+COPS: 0", "OK"]
        return [f'+COPS: 0,0,"{self.net(now, "operator")}",{self.net(now, "act")}', "OK"]

    def _qnwinfo(self, now: float) -> list[str]:
        if not self.registered(now):
            return ["+QNWINFO: No Service", "OK"]
        act = QNW_ACT.get(int(self.net(now, "act")), "FDD LTE")
        return [
            f'+QNWINFO: "{act}","{self.net(now, "mcc_mnc")}","{self.sc.network["band"]}",1300',
            "OK",
        ]

    def _cgdcont(self, now: float, pdp_type: str, apn: str) -> list[str]:
        self.apn = apn
        return ["OK"]

    def _activate(self, now: float) -> list[str]:
        guard = self._sim_guard()
        if guard:
            return guard
        if not self.registered(now):
            return self.cme(30)
        self.pdp_active = True
        return ["OK"]

    def _deactivate(self, now: float) -> list[str]:
        self.pdp_active = False
        return ["OK"]

    def _qiact(self, now: float) -> list[str]:
        if not self.pdp_active:
            return ["OK"]
        return [f'+QIACT: 1,1,1,"{self.sc.data["address"]}"', "OK"]

    def _cgpaddr(self, now: float) -> list[str]:
        addr = self.sc.data["address"] if self.pdp_active else "0.0.0.0"
        return [f'+CGPADDR: 1,"{addr}"', "OK"]

    def _clock(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)

    def _cclk(self, now: float) -> list[str]:
        q = int(self.sc.network["tz_quarters"])
        local = (
            self._clock() + dt.timedelta(minutes=15 * q)
            if self.synced_time
            else dt.datetime(2000, 1, 1)
        )
        return [f'+CCLK: "{local:%y/%m/%d,%H:%M:%S}{q:+03d}"', "OK"]

    def _qlts(self, now: float) -> list[str]:
        if not self.synced_time:
            return ['+QLTS: ""', "OK"]
        q = int(self.sc.network["tz_quarters"])
        return [f'+QLTS: "{self._clock():%Y/%m/%d,%H:%M:%S}{q:+03d},0"', "OK"]

    def _cfun(self, now: float, fun: str, reset: str | None = None) -> list[str]:
        self.cfun = int(fun)
        if self.cfun == 1:
            self.radio_t0 = now
            self._after_reset = True
        self.pdp_active = False
        return ["OK"]

    def _usbnet(self, now: float, mode: str | None) -> list[str]:
        if mode is None:
            return [f'+QCFG: "usbnet",{self.usbnet}', "OK"]
        self.usbnet = int(mode)
        return ["OK"]

    def reboot(self, now: float) -> None:
        """A reset (AT+CFUN=1,1 or spontaneous): state back to power-on defaults."""
        self.reset_count += 1
        self._after_reset = True
        if self.sim_state == "ready" and self.sc.sim["state"] == "pin_required":
            self.sim_state = "pin_required"
        self._power_on(now)

    def boot_burst(self) -> list[str]:
        words = {
            "ready": "READY",
            "pin_required": "SIM PIN",
            "puk_required": "SIM PUK",
            "absent": "NOT READY",
        }
        return [
            "RDY",
            "+CFUN: 1",
            f"+CPIN: {words[self.sim_state]}",
            "+QUSIM: 1",
            "+QIND: SMS DONE",
        ]


_BENIGN = re.compile(
    r"AT\+(CNMI|CMGF|CSCS|CLIP|CRC|CVHU|CSMS|CPMS|CMGL|CLCC|CSDH|CTZU|CTZR|QURCCFG"
    r"|CGEREP|QINDCFG|CSCA)\b.*",
    re.IGNORECASE,
)

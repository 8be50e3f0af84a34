"""What the modem layer needs to know, as one frozen value (hal/ never reads device config).

`ModemSettings.from_object(config.modem)` copies the fields of the agent's `[modem]` section that
exist here; tests build it directly with tiny timeouts. `timeout_for()` maps a command to its
class's timeout (CPIN? 10 s, CSQ 3 s, COPS? 3 s, COPS= 180 s, CGACT/QIACT 150 s by default).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModemSettings:
    port: str = ""
    baudrate: int = 115200
    flow_control: str = "none"  # none | rtscts | xonxoff
    apn: str = ""
    apn_user: str = ""
    apn_password: str = field(default="", repr=False)
    apn_auth: str = "none"  # none | pap | chap | pap_or_chap
    pdp_type: str = "IP"  # IP | IPV6 | IPV4V6
    apn_table: str = ""  # "26201=internet.telekom,23415=wap.vodafone.co.uk": APN by MCC-MNC
    pin: str = field(default="", repr=False)  # never in a repr, a log line or an error
    pin_state_file: str = ""  # SIMs with a PIN attempt outstanding, kept across restarts ("": memory)
    data_path: str = "none"  # none | usbnet | qmi | ppp | sim
    interface: str = ""
    data_port: str = ""  # second serial port for PPP
    timeout_default_s: float = 5.0
    timeout_cpin_s: float = 10.0
    timeout_csq_s: float = 3.0
    timeout_cops_query_s: float = 3.0
    timeout_cops_set_s: float = 180.0
    timeout_pdp_s: float = 150.0
    timeout_reset_s: float = 60.0
    poll_interval_s: float = 30.0
    reopen_interval_s: float = 0.5
    reset_hook: str = ""

    def __post_init__(self) -> None:
        parse_apn_table(self.apn_table)  # a bad table fails at load time, not at first dial
        if self.flow_control not in ("none", "rtscts", "xonxoff"):
            raise ValueError(f"flow_control {self.flow_control!r}: allowed none, rtscts, xonxoff")

    @classmethod
    def from_object(cls, obj: Any, **overrides: Any) -> ModemSettings:
        """Copy every same-named attribute of obj (e.g. device config's ModemConfig)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {n: getattr(obj, n) for n in names if hasattr(obj, n)}
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> ModemSettings:
        return dataclasses.replace(self, **changes)

    def timeout_for(self, command: str) -> float:
        """The configured timeout of the command's class."""
        cmd = command.upper().replace(" ", "")
        for pattern, attr in _TIMEOUT_CLASSES:
            if re.match(pattern, cmd):
                return float(getattr(self, attr))
        return self.timeout_default_s

    def apn_for(self, mcc_mnc: str | None) -> str:
        """The APN for this network: the table's entry for its MCC-MNC, else `apn`."""
        table = parse_apn_table(self.apn_table)
        return table.get(mcc_mnc or "", self.apn)


_TIMEOUT_CLASSES = (
    (r"AT\+CPIN", "timeout_cpin_s"),
    (r"AT\+(Q)?CSQ", "timeout_csq_s"),
    (r"AT\+COPS\?", "timeout_cops_query_s"),
    (r"AT\+COPS=", "timeout_cops_set_s"),
    (r"AT\+(CGACT|QIACT|QIDEACT|QNETDEVCTL)", "timeout_pdp_s"),
    (r"AT\+CFUN", "timeout_reset_s"),
)


def parse_apn_table(text: str) -> dict[str, str]:
    """`26201=internet.telekom, 23415=wap` -> {"26201": "internet.telekom", "23415": "wap"}."""
    table: dict[str, str] = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        key, sep, apn = item.partition("=")
        if not sep or not re.fullmatch(r"\d{5,6}", key.strip()):
            raise ValueError(f"apn_table entry {item!r} is not MCCMNC=apn")
        table[key.strip()] = apn.strip()
    return table

"""Pure parsers for AT information responses: text in, plain values out, no I/O.

Each function takes one response line (with or without its `+XXX: ` prefix) and returns a small
value; a malformed line raises `ParseError` naming the line. References: 3GPP TS 27.007 (CSQ,
CREG/CGREG/CEREG, COPS, CPIN, CCLK, CGDCONT, CGACT) and the Quectel EC25 AT commands manual
(QNWINFO, QCSQ, QLTS, QIACT, QCCID).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from hal.modem.errors import ModemError


class ParseError(ModemError, ValueError):
    """An information response does not have the documented shape."""

    def __init__(self, what: str, line: str) -> None:
        super().__init__(f"cannot parse {what} from {line!r}")
        self.what = what
        self.line = line


_FIELD = re.compile(r'\s*("([^"]*)"|[^,]*)\s*(,|$)')


def strip_prefix(line: str, prefix: str) -> str:
    """`+CSQ: 19,99` -> `19,99`; a line without the prefix is returned stripped."""
    line = line.strip()
    if line.upper().startswith(prefix.upper()):
        line = line[len(prefix) :]
    return line.lstrip(": ").strip()


def fields(text: str) -> list[str]:
    """Split a comma list, honouring double quotes (quotes removed): `1,"a,b",3` -> 1, a,b, 3."""
    out: list[str] = []
    pos = 0
    text = text.strip()
    if not text:
        return out
    while pos <= len(text):
        m = _FIELD.match(text, pos)
        if m is None or m.end() == pos and pos == len(text) and out:
            break
        out.append(m.group(2) if m.group(2) is not None else m.group(1).strip())
        if not m.group(3):
            break
        pos = m.end()
    return out


def _int(value: str, what: str, line: str) -> int:
    try:
        return int(value, 10)
    except ValueError:
        raise ParseError(what, line) from None


# --- signal ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    rssi: int | None  # 0..31 per 27.007; None for 99 (not known or not detectable)
    ber: int | None  # 0..7; None for 99
    dbm: int | None  # -113 + 2 * rssi; None when rssi is unknown


def parse_csq(line: str) -> Signal:
    """`+CSQ: <rssi>,<ber>`: dBm = -113 + 2*rssi (0 -> -113 or less, 31 -> -51 or more)."""
    parts = fields(strip_prefix(line, "+CSQ"))
    if len(parts) != 2:
        raise ParseError("CSQ", line)
    rssi, ber = _int(parts[0], "CSQ rssi", line), _int(parts[1], "CSQ ber", line)
    if not (0 <= rssi <= 31 or rssi == 99 or 100 <= rssi <= 199):
        raise ParseError("CSQ rssi", line)
    known = rssi if 0 <= rssi <= 31 else None
    return Signal(known, None if ber == 99 else ber, None if known is None else -113 + 2 * known)


@dataclass(frozen=True)
class QualitySignal:
    sysmode: str  # "LTE", "WCDMA", "GSM", "NOSERVICE", ...
    rssi_dbm: int | None
    rsrp_dbm: int | None
    sinr_db: float | None
    rsrq_db: int | None


def parse_qcsq(line: str) -> QualitySignal:
    """Quectel `+QCSQ: "LTE",<rssi>,<rsrp>,<sinr>,<rsrq>`; SINR in dB = value/5 - 20."""
    parts = fields(strip_prefix(line, "+QCSQ"))
    if not parts:
        raise ParseError("QCSQ", line)
    mode = parts[0].upper()
    nums = [_int(p, "QCSQ value", line) for p in parts[1:]]
    if mode == "LTE" and len(nums) >= 4:
        return QualitySignal(mode, nums[0], nums[1], nums[2] / 5 - 20, nums[3])
    return QualitySignal(mode, nums[0] if nums else None, None, None, None)


# --- registration ---------------------------------------------------------------------------

REG_STATES = {
    0: "not_registered",
    1: "home",
    2: "searching",
    3: "denied",
    4: "unknown",
    5: "roaming",
    6: "home",  # registered for SMS only, home
    7: "roaming",  # registered for SMS only, roaming
    8: "not_registered",  # attached for emergency bearer services only
    9: "home",  # CSFB not preferred, home
    10: "roaming",  # CSFB not preferred, roaming
}


@dataclass(frozen=True)
class Registration:
    domain: str  # "CREG", "CGREG" or "CEREG"
    stat: int
    state: str  # one of ModemStatus.registration's values
    n: int | None = None  # the URC mode, only in a read (`AT+CREG?`) reply
    lac: str | None = None  # LAC (CREG/CGREG) or TAC (CEREG), hex
    ci: str | None = None  # cell id, hex
    act: int | None = None


def is_registration_read_reply(line: str) -> bool:
    """True for the read form `+CREG: <n>,<stat>...` (second field an unquoted number), False
    for the unsolicited form `+CREG: <stat>[,"lac","ci"...]`."""
    body = line.split(":", 1)[1] if ":" in line else ""
    raw = [p.strip() for p in body.split(",")]
    return len(raw) >= 2 and raw[1].isdigit()


def parse_registration(line: str) -> Registration:
    """`+CREG:`/`+CGREG:`/`+CEREG:` in either form: read reply (n first) or URC (stat first).

    Forms: URC `<stat>`, `<stat>,"lac","ci"[,act]`; read `<n>,<stat>`, `<n>,<stat>,"lac","ci"`,
    `<n>,<stat>,"lac","ci",<act>` (and CGREG/CEREG's extra rac/cause fields, ignored).
    """
    m = re.match(r"\s*\+(C|CG|CE)REG\s*:", line, re.IGNORECASE)
    if not m:
        raise ParseError("registration", line)
    domain = f"{m.group(1).upper()}REG"
    parts = fields(line[m.end() :])
    n = None
    if is_registration_read_reply(line):
        n = _int(parts[0], "registration n", line)
        parts = parts[1:]
    if not parts or not parts[0]:
        raise ParseError("registration stat", line)
    stat = _int(parts[0], "registration stat", line)
    if stat not in REG_STATES:
        raise ParseError("registration stat", line)
    lac = parts[1] or None if len(parts) > 1 else None
    ci = parts[2] or None if len(parts) > 2 else None
    act = _int(parts[3], "registration act", line) if len(parts) > 3 and parts[3] else None
    return Registration(domain, stat, REG_STATES[stat], n, lac, ci, act)


_PREFERENCE = ("home", "roaming", "denied", "searching", "not_registered", "unknown")


def combine_registration(states: list[str]) -> str:
    """The best of the CS/GPRS/EPS registration states: registered anywhere counts."""
    for state in _PREFERENCE:
        if state in states:
            return state
    return "unknown"


# --- operator and access technology ---------------------------------------------------------

ACT_NAMES = {
    0: "GSM",
    1: "GSM",
    2: "UMTS",
    3: "EDGE",
    4: "HSDPA",
    5: "HSUPA",
    6: "HSPA",
    7: "LTE",
    8: "EC-GSM-IoT",
    9: "NB-IoT",
    10: "LTE",
    11: "NR",
    12: "NR",
    13: "EN-DC",
}


@dataclass(frozen=True)
class Operator:
    mode: int
    name: str | None  # long or short alphanumeric, or the numeric MCC-MNC (see `format`)
    format: int | None  # 0 long alpha, 1 short alpha, 2 numeric
    act: int | None
    access_technology: str | None


def parse_cops(line: str) -> Operator:
    """`+COPS: <mode>[,<format>,<oper>[,<AcT>]]`; `+COPS: 0` means no operator selected."""
    parts = fields(strip_prefix(line, "+COPS"))
    if not parts or not parts[0].isdigit():
        raise ParseError("COPS", line)
    mode = int(parts[0])
    if len(parts) < 3:
        return Operator(mode, None, None, None, None)
    fmt = _int(parts[1], "COPS format", line)
    act = _int(parts[3], "COPS act", line) if len(parts) > 3 and parts[3] else None
    return Operator(mode, parts[2] or None, fmt, act, ACT_NAMES.get(act) if act is not None else None)


@dataclass(frozen=True)
class NetworkInfo:
    access_technology: str | None  # normalised: LTE, UMTS, HSPA, GSM, ... ; None for no service
    raw_act: str
    mcc_mnc: str | None
    band: str | None
    channel: int | None


_QNW_ACT = (
    ("LTE", "LTE"),
    ("HSPA+", "HSPA+"),
    ("HSDPA", "HSDPA"),
    ("HSUPA", "HSUPA"),
    ("HSPA", "HSPA"),
    ("WCDMA", "UMTS"),
    ("TDSCDMA", "UMTS"),
    ("EDGE", "EDGE"),
    ("GPRS", "GSM"),
    ("GSM", "GSM"),
    ("NR5G", "NR"),
)


def parse_qnwinfo(line: str) -> NetworkInfo:
    """Quectel `+QNWINFO: "FDD LTE","26201","LTE BAND 3",1300` or `+QNWINFO: No Service`."""
    body = strip_prefix(line, "+QNWINFO")
    if body.lower().startswith("no service"):
        return NetworkInfo(None, body, None, None, None)
    parts = fields(body)
    if len(parts) < 3:
        raise ParseError("QNWINFO", line)
    act = next((name for key, name in _QNW_ACT if key in parts[0].upper()), parts[0])
    chan = _int(parts[3], "QNWINFO channel", line) if len(parts) > 3 and parts[3] else None
    return NetworkInfo(act, parts[0], parts[1] or None, parts[2] or None, chan)


# --- SIM ------------------------------------------------------------------------------------

_CPIN = {
    "READY": "ready",
    "SIM PIN": "pin_required",
    "SIM PUK": "puk_required",
    "SIM PIN2": "ready",  # PIN2/PUK2 guard only some phonebook entries
    "SIM PUK2": "ready",
    "NOT INSERTED": "absent",
    "NOT READY": "absent",
}


def parse_cpin(line: str) -> str:
    """`+CPIN: READY` -> `ready`; `SIM PIN` -> `pin_required`; `SIM PUK` -> `puk_required`;
    anything else (PH-SIM PIN, PH-NET PIN, ...) -> `error`."""
    code = strip_prefix(line, "+CPIN").strip('"').upper()
    if not code:
        raise ParseError("CPIN", line)
    return _CPIN.get(code, "error")


def parse_iccid(line: str) -> str:
    """`+QCCID: 8949...F`, `+CCID: "8949..."`, `+ICCID: ...` or a bare number; trailing F dropped."""
    body = re.sub(r"^\+(Q?CCID|ICCID)\s*:", "", line.strip(), flags=re.IGNORECASE)
    value = body.strip().strip('"').rstrip("Ff")
    if not re.fullmatch(r"\d{18,22}", value):
        raise ParseError("ICCID", line)
    return value


def parse_imei(line: str) -> str:
    """`866425030123456` or `+CGSN: "866425030123456"` -> the 15 digits."""
    value = re.sub(r"^\+(CGSN|GSN)\s*:", "", line.strip(), flags=re.IGNORECASE).strip().strip('"')
    if not re.fullmatch(r"\d{14,17}", value):
        raise ParseError("IMEI", line)
    return value


# --- time -----------------------------------------------------------------------------------


def _tz(sign: str, quarters: str) -> dt.timezone:
    minutes = int(quarters) * 15
    return dt.timezone(dt.timedelta(minutes=-minutes if sign == "-" else minutes))


def parse_cclk(line: str) -> dt.datetime | None:
    """`+CCLK: "24/01/15,10:20:30+04"` (local time, zone in quarter hours) -> aware UTC datetime.

    Returns None for a clock that was never set (a module without network time reports its epoch,
    e.g. 80/01/06 or 04/01/01): anything before 2020 is treated as unset.
    """
    m = re.search(r'"?(\d{2,4})/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)([+-])(\d{1,2})"?', line)
    if not m:
        raise ParseError("CCLK", line)
    year = int(m.group(1))
    if year < 100:
        year += 2000 if year < 70 else 1900  # 80/01/06 is the 1980 GPS-epoch default
    try:
        local = dt.datetime(
            year, *(int(m.group(i)) for i in range(2, 7)), tzinfo=_tz(m.group(7), m.group(8))
        )
    except ValueError:
        raise ParseError("CCLK", line) from None
    return local.astimezone(dt.UTC) if year >= 2020 else None


def parse_qlts(line: str) -> dt.datetime | None:
    """Quectel `AT+QLTS=1` -> `+QLTS: "2023/10/07,23:07:16+08,1"`: GMT (mode 1), the zone in
    quarter hours and the DST flag only describe local time. `+QLTS: ""` (never synced) -> None."""
    body = strip_prefix(line, "+QLTS")
    if body.strip('"') == "":
        return None
    m = re.search(r"(\d{4})/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)", body)
    if not m:
        raise ParseError("QLTS", line)
    try:
        return dt.datetime(*(int(g) for g in m.groups()), tzinfo=dt.UTC)
    except ValueError:
        raise ParseError("QLTS", line) from None


# --- packet data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PdpContext:
    cid: int
    pdp_type: str
    apn: str
    address: str | None = None


def parse_cgdcont(line: str) -> PdpContext:
    """`+CGDCONT: 1,"IP","internet","0.0.0.0",0,0,0,0` -> PdpContext(1, IP, internet)."""
    parts = fields(strip_prefix(line, "+CGDCONT"))
    if len(parts) < 3:
        raise ParseError("CGDCONT", line)
    addr = parts[3] if len(parts) > 3 and parts[3] not in ("", "0.0.0.0") else None
    return PdpContext(_int(parts[0], "CGDCONT cid", line), parts[1], parts[2], addr)


def parse_cgact(line: str) -> tuple[int, bool]:
    """`+CGACT: 1,1` -> (cid 1, active)."""
    parts = fields(strip_prefix(line, "+CGACT"))
    if len(parts) < 2:
        raise ParseError("CGACT", line)
    return _int(parts[0], "CGACT cid", line), parts[1] == "1"


def parse_qiact(line: str) -> tuple[int, bool, str | None]:
    """Quectel `+QIACT: 1,1,1,"10.7.157.1"` -> (context 1, active, address)."""
    parts = fields(strip_prefix(line, "+QIACT"))
    if len(parts) < 2:
        raise ParseError("QIACT", line)
    addr = parts[3] if len(parts) > 3 and parts[3] else None
    return _int(parts[0], "QIACT context", line), parts[1] == "1", addr


def parse_cgpaddr(line: str) -> tuple[int, str | None]:
    """`+CGPADDR: 1,"10.1.2.3"` -> (1, "10.1.2.3"); an empty or 0.0.0.0 address -> None."""
    parts = fields(strip_prefix(line, "+CGPADDR"))
    if not parts:
        raise ParseError("CGPADDR", line)
    addr = parts[1] if len(parts) > 1 and parts[1] not in ("", "0.0.0.0") else None
    return _int(parts[0], "CGPADDR cid", line), addr


@dataclass(frozen=True)
class Identity:
    manufacturer: str
    model: str
    revision: str

    @property
    def dialect(self) -> str:
        return "quectel" if "QUECTEL" in self.manufacturer.upper() else "generic"


def parse_ati(lines: list[str]) -> Identity:
    """`ATI` lines: `Quectel`, `EC25`, `Revision: EC25EFAR06A06M4G` (other vendors vary)."""
    body = [x.strip() for x in lines if x.strip()]
    if not body:
        raise ParseError("ATI", "")
    rev = next((x.split(":", 1)[1].strip() for x in body if x.lower().startswith("revision")), "")
    rest = [x for x in body if not x.lower().startswith("revision")]
    model = rest[1] if len(rest) > 1 else ""
    return Identity(rest[0] if rest else "", model, rev)

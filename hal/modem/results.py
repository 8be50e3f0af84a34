"""Classify AT lines: final result codes, and which lines are unsolicited (URCs).

Final results end a command (27.007 section 4 plus what modems really send); errors become typed
`AtCommandError`s carrying the code. URC prefixes name lines a modem may send at any time.
"""

from __future__ import annotations

import re

from hal.modem.errors import AtCommandError, CmeError, CmsError, CommandNotSupported, NoCarrier

SUCCESS = ("OK", "CONNECT")
ERRORS = ("ERROR", "NO CARRIER", "COMMAND NOT SUPPORT", "BUSY", "NO ANSWER", "NO DIALTONE")
_CME = re.compile(r"^\+(CME|CMS) ERROR:\s*(.*)$", re.IGNORECASE)

URC_PREFIXES = (
    "+CREG:",
    "+CGREG:",
    "+CEREG:",
    "+QIURC:",
    "+CPIN:",
    "+QUSIM:",
    "+QIND:",
    "+CFUN:",
    "+CMTI:",
    "+CMT:",
    "+CDS:",
    "+CBM:",
    "+CRING:",
    "+CLIP:",
    "+CUSD:",
    "+CTZV:",
    "+CTZE:",
    "+CGEV:",
    "+QNETDEVSTATUS:",
    "+QSIMSTAT:",
    "+QCSQ:",
    "+CSQ:",
)
URC_WORDS = ("RDY", "POWERED DOWN", "NORMAL POWER DOWN", "RING", "UNDER_VOLTAGE POWER DOWN")


def is_final(line: str) -> bool:
    upper = line.upper()
    return upper in SUCCESS or upper.startswith("CONNECT ") or upper in ERRORS or bool(
        _CME.match(line)
    )


def is_success(line: str) -> bool:
    upper = line.upper()
    return upper in SUCCESS or upper.startswith("CONNECT ")


def is_urc(line: str) -> bool:
    upper = line.upper()
    return upper in URC_WORDS or upper.startswith(URC_PREFIXES)


def error_for(command: str, line: str, lines: tuple[str, ...] = ()) -> AtCommandError:
    """The typed error for an error final result: `+CME ERROR: 10` -> CmeError(code=10)."""
    m = _CME.match(line)
    if m:
        detail = m.group(2).strip()
        code = int(detail) if detail.isdigit() else None
        cls = CmeError if m.group(1).upper() == "CME" else CmsError
        return cls(command, line, code, "" if code is not None else detail, lines)
    upper = line.upper()
    if upper == "COMMAND NOT SUPPORT":
        return CommandNotSupported(command, line, lines)
    if upper == "NO CARRIER":
        return NoCarrier(command, line, lines)
    return AtCommandError(command, line, lines)

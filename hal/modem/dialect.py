"""Vendor dialects: the few commands where a Quectel module differs from plain 3GPP 27.007.

Chosen from `ATI` (`Identity.dialect`); the generic dialect uses only 27.007 commands, so a
SIMCom SIM7600 or another module works with it, minus the Quectel extras (QCSQ, QNWINFO, QLTS).
"""

from __future__ import annotations

from dataclasses import dataclass

AUTH_CODES = {"none": 0, "pap": 1, "chap": 2, "pap_or_chap": 3}
QUECTEL_CONTEXT_TYPES = {"IP": 1, "IPV6": 2, "IPV4V6": 3}


def _q(text: str) -> str:
    return '"' + text.replace('"', "") + '"'


@dataclass(frozen=True)
class Dialect:
    name: str = "generic"
    iccid_commands: tuple[str, ...] = ("AT+CCID", "AT+ICCID")
    time_commands: tuple[str, ...] = ("AT+CCLK?",)
    signal_quality: str | None = None  # extra signal command (QCSQ)
    network_info: str | None = None  # extra access technology command (QNWINFO)
    activate: str = "AT+CGACT=1,1"
    deactivate: str = "AT+CGACT=0,1"
    session_query: str = "AT+CGACT?"

    def apn_auth(self, apn: str, pdp_type: str, user: str, password: str, auth: str) -> str | None:
        """The command that sets user/password/auth (None when there is nothing to set)."""
        if auth == "none" and not user:
            return None
        return f"AT+CGAUTH=1,{AUTH_CODES[auth]},{_q(user)},{_q(password)}"


@dataclass(frozen=True)
class QuectelDialect(Dialect):
    name: str = "quectel"
    iccid_commands: tuple[str, ...] = ("AT+QCCID", "AT+CCID")
    time_commands: tuple[str, ...] = ("AT+QLTS=1", "AT+CCLK?")
    signal_quality: str | None = "AT+QCSQ"
    network_info: str | None = "AT+QNWINFO"
    activate: str = "AT+QIACT=1"
    deactivate: str = "AT+QIDEACT=1"
    session_query: str = "AT+QIACT?"

    def apn_auth(self, apn: str, pdp_type: str, user: str, password: str, auth: str) -> str | None:
        ctx = QUECTEL_CONTEXT_TYPES[pdp_type]
        return f"AT+QICSGP=1,{ctx},{_q(apn)},{_q(user)},{_q(password)},{AUTH_CODES[auth]}"


def dialect_for(manufacturer: str) -> Dialect:
    return QuectelDialect() if "QUECTEL" in manufacturer.upper() else Dialect()


def apn_command(apn: str, pdp_type: str) -> str:
    return f"AT+CGDCONT=1,{_q(pdp_type)},{_q(apn)}"

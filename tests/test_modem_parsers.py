"""Parser vectors (tests/vectors/modem_parsers.toml): each with its source and firmware."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from hal.modem import parsers, results
from hal.modem.errors import CmeError

VECTORS = tomllib.loads((Path(__file__).parent / "vectors" / "modem_parsers.toml").read_text())


def none(value: object) -> object:
    return None if value == "none" else value


def cases(kind: str) -> list:
    return [pytest.param(v, id=v["input"]) for v in VECTORS[kind]]


def test_every_vector_names_its_source() -> None:
    for kind, items in VECTORS.items():
        for v in items:
            assert v["source"].strip(), f"{kind} {v['input']} has no source"
            assert "firmware" in v, f"{kind} {v['input']} does not say its firmware"


@pytest.mark.parametrize("v", cases("csq"))
def test_csq(v: dict) -> None:
    sig = parsers.parse_csq(v["input"])
    assert (sig.rssi, sig.ber, sig.dbm) == (none(v["rssi"]), none(v["ber"]), none(v["dbm"]))


@pytest.mark.parametrize("v", cases("registration"))
def test_registration(v: dict) -> None:
    reg = parsers.parse_registration(v["input"])
    assert (reg.state, reg.stat) == (v["state"], v["stat"])
    assert reg.n == v.get("n")
    assert (reg.lac, reg.ci, reg.act) == (v.get("lac"), v.get("ci"), v.get("act"))


@pytest.mark.parametrize("v", cases("cops"))
def test_cops(v: dict) -> None:
    op = parsers.parse_cops(v["input"])
    assert (op.name, op.access_technology) == (none(v["operator"]), none(v["access_technology"]))


@pytest.mark.parametrize("v", cases("qnwinfo"))
def test_qnwinfo(v: dict) -> None:
    info = parsers.parse_qnwinfo(v["input"])
    assert info.access_technology == none(v["access_technology"])
    assert info.mcc_mnc == v.get("mcc_mnc") and info.band == v.get("band")


@pytest.mark.parametrize("v", cases("qcsq"))
def test_qcsq(v: dict) -> None:
    q = parsers.parse_qcsq(v["input"])
    assert (q.sysmode, q.rsrp_dbm) == (v["sysmode"], none(v["rsrp"]))
    if "sinr" in v:
        assert (q.sinr_db, q.rsrq_db) == (v["sinr"], v["rsrq"])


@pytest.mark.parametrize("v", cases("cpin"))
def test_cpin(v: dict) -> None:
    assert parsers.parse_cpin(v["input"]) == v["sim"]


@pytest.mark.parametrize("v", cases("cme"))
def test_cme_final_results(v: dict) -> None:
    assert results.is_final(v["input"])
    err = results.error_for("AT+CPIN?", v["input"])
    assert isinstance(err, CmeError) and isinstance(err, RuntimeError)
    assert err.code == none(v["code"]) and err.sim_absent is v["sim_absent"]
    assert "AT+CPIN?" in str(err)


@pytest.mark.parametrize("v", cases("cclk") + cases("qlts"))
def test_network_time(v: dict) -> None:
    parse = parsers.parse_qlts if v["input"].startswith("+QLTS") else parsers.parse_cclk
    want = none(v["utc"])
    got = parse(v["input"])
    assert got == (dt.datetime.fromisoformat(want) if want else None)


def test_pdp_and_identity_vectors() -> None:
    (c,) = VECTORS["cgdcont"]
    ctx = parsers.parse_cgdcont(c["input"])
    assert (ctx.cid, ctx.pdp_type, ctx.apn, ctx.address) == (
        c["cid"],
        c["pdp_type"],
        c["apn"],
        None,
    )
    (q,) = VECTORS["qiact"]
    assert parsers.parse_qiact(q["input"]) == (q["cid"], q["active"], q["address"])
    (i,) = VECTORS["iccid"]
    assert parsers.parse_iccid(i["input"]) == i["iccid"]
    assert parsers.parse_imei('+CGSN: "866425030123456"') == "866425030123456"
    ident = parsers.parse_ati(["Quectel", "EC25", "Revision: EC25EFAR06A06M4G"])
    assert (ident.model, ident.revision, ident.dialect) == ("EC25", "EC25EFAR06A06M4G", "quectel")
    assert parsers.parse_ati(["SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H"]).dialect == "generic"


@pytest.mark.parametrize(
    "fn,line",
    [
        (parsers.parse_csq, "+CSQ: nineteen,99"),
        (parsers.parse_csq, "+CSQ: 19"),
        (parsers.parse_registration, "+CREG: 2,11"),
        (parsers.parse_registration, "+COPS: 0"),
        (parsers.parse_cops, "+COPS: x"),
        (parsers.parse_cclk, '+CCLK: "garbage"'),
        (parsers.parse_iccid, "+QCCID: 12"),
    ],
)
def test_malformed_lines_name_what_and_where(fn, line: str) -> None:
    with pytest.raises(parsers.ParseError) as info:
        fn(line)
    assert line in str(info.value) and isinstance(info.value, ValueError)


def test_combine_registration_prefers_registered_domain() -> None:
    assert parsers.combine_registration(["not_registered", "home"]) == "home"
    assert parsers.combine_registration(["searching", "roaming"]) == "roaming"
    assert parsers.combine_registration(["searching", "denied"]) == "denied"
    assert parsers.combine_registration([]) == "unknown"

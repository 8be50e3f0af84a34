"""`recorder policy status [--json]`: the links, battery, storage, budget and the upload decision now."""

from __future__ import annotations

import argparse

from device.cli.common import load_config, print_json
from device.policy import build_gate, load_decision
from device.policy.report import link_report


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "policy", help="links, battery, cellular budget and whether uploads may run"
    )
    sub = p.add_subparsers(dest="policy_verb", required=True)
    status = sub.add_parser("status", help="what the upload policy sees and decides now")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    config = load_config(args, require_api=False)
    gate = build_gate(config)
    report = link_report(gate)
    report["agent_last_decision"] = load_decision(gate.budget.conn)
    if args.json:
        print_json(report)
        return 0
    for line in _lines(report):
        print(line)
    return 0


def _lines(r: dict) -> list[str]:
    now = r["now"]
    out = [
        f"mode {r['mode']}: "
        + (f"uploads allowed over {now['link']}" if now["allowed"] else f"paused: {now['reason']}")
    ]
    for kind, link in r["links"].items():
        if link is None:
            continue
        if not link.get("present", True):
            out.append(f"  {kind:9} {link['name']}: absent")
            continue
        state = "up" if link["up"] else link["operstate"]
        extra = f" ssid={link['ssid']}" if link.get("ssid") else ""
        out.append(
            f"  {kind:9} {link['name']}: {state} {','.join(link['addresses']) or '-'}{extra} "
            f"rx={link['rx_bytes']} tx={link['tx_bytes']}"
        )
    limit = r["daily_cellular_bytes"]
    out.append(
        f"cellular today: {r['cellular_used_bytes']} B"
        + (f" of {limit} B" if limit else " (no limit)")
    )
    bat = r["battery"]
    out.append(
        "battery: none" if bat is None else f"battery: {bat['capacity_percent']}% {bat['status']}"
    )
    last = r.get("agent_last_decision")
    if last:
        out.append(
            f"agent's last decision ({last['at']}): {last['uploads']} {last['reason']}".rstrip()
        )
    return out

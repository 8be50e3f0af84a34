"""`recorder run [--duration S]`: the daemon (capture on command, schedule or signal; upload;
heartbeat; modem watch), supervised, with sd_notify; exits non-zero when workers keep dying."""

from __future__ import annotations

import argparse
import logging

from device import parts as parts_mod
from device.agent import Agent
from device.cli.common import load_config
from device.triggers import parse_schedule

log = logging.getLogger("recorder")


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("run", help="run the agent daemon until SIGTERM/SIGINT")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.duration is not None and args.duration <= 0:
        raise SystemExit("recorder run: --duration must be a positive number of seconds")
    config = load_config(args)
    parse_schedule(config.agent.schedule, config.source)  # a bad key fails before anything opens
    agent = Agent(config, parts_mod.build(config))
    return agent.run(args.duration)

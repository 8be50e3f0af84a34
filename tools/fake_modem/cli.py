"""`fake-modem --scenario NAME|FILE [--link PATH]`: print the port path, serve until killed."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
from pathlib import Path

from tools.fake_modem import scenario as scenario_mod
from tools.fake_modem.server import FakeModem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fake-modem", description=__doc__)
    parser.add_argument("--scenario", default="normal", help="a name in tools/scenarios or a file")
    parser.add_argument("--link", default="", help="symlink path to serve at (default: a temp dir)")
    parser.add_argument("--list", action="store_true", help="list the shipped scenarios")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="fake-modem: %(message)s")
    if args.list:
        for name in scenario_mod.available():
            sc = scenario_mod.load(name)
            print(f"{name:20} {sc.description}")
        return 0
    try:
        sc = scenario_mod.load(args.scenario)
    except scenario_mod.ScenarioError as exc:
        print(f"fake-modem: {exc}", file=sys.stderr)
        return 2
    link = Path(args.link or Path(tempfile.mkdtemp(prefix="fake-modem-")) / "ttyFAKE0")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with FakeModem(sc, link) as modem:
        print(modem.path, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`recorder` command: each verb lives in its own module here and registers itself."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys

from device import __version__, logsetup
from device.config import DEFAULT_CONFIG_PATH
from device.errors import RecorderError

log = logging.getLogger("recorder")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recorder", description="Recorder agent")
    parser.add_argument(
        "--config",
        default=os.environ.get("RECORDER_CONFIG", DEFAULT_CONFIG_PATH),
        help=f"config file (default: $RECORDER_CONFIG or {DEFAULT_CONFIG_PATH})",
    )
    parser.add_argument("--log-level", default=None, help="override log.level")
    parser.add_argument("--version", action="version", version=f"recorder {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_") or mod.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        module.register(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, set up logging, run the verb; RecorderError -> message and exit 2."""
    args = build_parser().parse_args(argv)
    logsetup.configure(args.log_level or os.environ.get("RECORDER_LOG_LEVEL", "WARNING"))
    try:
        return int(args.handler(args) or 0)
    except RecorderError as exc:
        print(f"recorder: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Run every benchmark module in tools/bench (or those named on the command line)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import tools.bench as pkg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench")
    parser.add_argument("only", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))
    unknown = set(args.only) - set(names)
    if unknown:
        parser.error(
            f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(names)}"
        )
    for name in args.only or names:
        print(f"\n=== bench {name} ===", flush=True)
        importlib.import_module(f"tools.bench.{name}").run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

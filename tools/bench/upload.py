"""Upload benchmark: `recorder upload` beside `curl -T` and a read-the-whole-file `requests.put`.

Every tool PUTs the same files to presigned URLs of one bench backend it starts itself, over HTTP
and HTTPS; then, as root, the same on a 2 Mbit/s uplink model (a network namespace whose `lo` has
an htb class for the S3 and API ports). Printed per tool: peak RSS growth (peak minus the same
tool's peak for a 4 KiB file), PUT throughput, CPU seconds net of the same 4 KiB baseline, and
the ratio of each to curl; on the shaped link the goodput as a share of 2 Mbit/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tools.bench import _upload_tools as ut

MIB = 1024 * 1024
SIZES_MIB = (16, 256, 1024)
QUICK_SIZES_MIB = (4, 16, 64)
SHAPED_MIB, QUICK_SHAPED_MIB = 4, 1
LINK_KBPS = 2000
TOOLS = ("recorder", "put_file", "put_file-md5-known", "curl", "requests-read-all")


@dataclass(frozen=True)
class Row:
    scheme: str
    size_mib: float
    tool: str
    rss_growth_mib: float
    mib_per_s: float
    cpu_s: float


def run(args: argparse.Namespace) -> None:
    quick = getattr(args, "quick", False)
    sizes = QUICK_SIZES_MIB if quick else SIZES_MIB
    if not shutil.which("curl"):
        raise SystemExit("bench upload: curl is required (apt-get install curl)")
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        work = Path(tmp)
        files = {size: ut.make_file(work / f"{size}MiB.bin", size * MIB) for size in sizes}
        tiny = ut.make_file(work / "tiny.bin", 4096)
        rows: list[Row] = []
        for tls in (False, True):
            with ut.bench_backend(work / ("data-tls" if tls else "data"), tls) as backend:
                rows += measure(backend, files, tiny, "https" if tls else "http")
        print_table(rows)
    shaped(quick)


def measure(backend: ut.Backend, files: dict[int, Path], tiny: Path, scheme: str) -> list[Row]:
    rows = []
    base = {tool: ut.run_tool(tool, backend, tiny) for tool in TOOLS}
    for size, path in files.items():
        for tool in TOOLS:
            got = ut.run_tool(tool, backend, path)
            rows.append(
                Row(
                    scheme,
                    size,
                    tool,
                    max(0.0, (got.peak_kib - base[tool].peak_kib) / 1024),
                    size / got.put_s if got.put_s > 0 else 0.0,
                    max(0.0, got.cpu_s - base[tool].cpu_s),
                )
            )
            print(f"  {scheme} {size} MiB {tool}: {rows[-1]}", flush=True)
    return rows


def print_table(rows: list[Row]) -> None:
    curl = {(r.scheme, r.size_mib): r for r in rows if r.tool == "curl"}
    head = f"{'link':6} {'size':>8} {'tool':18} {'RSS+ MiB':>9} {'MiB/s':>8} {'x curl':>7} {'CPU s':>7} {'x curl':>7}"
    print("\n" + head + "\n" + "-" * len(head))
    print("(RSS+ and CPU are net of the same tool's run with a 4 KiB file: startup and API calls)")
    for r in rows:
        c = curl[(r.scheme, r.size_mib)]
        tput = r.mib_per_s / c.mib_per_s if c.mib_per_s else 0.0
        cpu = r.cpu_s / c.cpu_s if c.cpu_s else 0.0
        print(
            f"{r.scheme:6} {r.size_mib:>6} Mi {r.tool:18} {r.rss_growth_mib:9.1f} "
            f"{r.mib_per_s:8.1f} {tput:7.2f} {r.cpu_s:7.2f} {cpu:7.2f}"
        )


def shaped(quick: bool) -> None:
    """The 2 Mbit/s uplink model, in a network namespace (root only; cleaned up after)."""
    print(f"\n2 Mbit/s uplink model ({LINK_KBPS} kbit/s htb class on the S3 and API ports)")
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("tc"):
        print("  not run: needs root and the ip/tc tools (network namespace)")
        return
    size = QUICK_SHAPED_MIB if quick else SHAPED_MIB
    ns = f"recbench{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        child = [sys.executable, "-m", "tools.bench._upload_shaped", str(size), str(LINK_KBPS)]
        subprocess.run(["ip", "netns", "exec", ns, *child], check=True, timeout=1800)
    finally:
        subprocess.run(["ip", "netns", "delete", ns], check=False)

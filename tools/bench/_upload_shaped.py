"""The shaped part of the upload benchmark; runs inside a fresh network namespace (as root).

Starts a bench backend on the namespace's loopback, puts an htb class of LINK kbit/s on `lo`
(MTU 1500) for packets to the S3 and API ports only (shaping all of `lo` would also slow the S3
server's internal hops), then uploads one file with each tool and prints goodput as a share of
the link. Usage: python -m tools.bench._upload_shaped SIZE_MIB LINK_KBPS
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from tools.bench import _upload_tools as ut


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True)


def shape(ports: list[int], kbps: int) -> None:
    """htb on lo: default class unshaped, class 1:20 at `kbps` for packets to `ports`."""
    sh(*"ip link set lo mtu 1500".split())
    sh(*"ip link set lo up".split())
    sh(*"tc qdisc add dev lo root handle 1: htb default 10".split())
    sh(*"tc class add dev lo parent 1: classid 1:10 htb rate 10gbit quantum 60000".split())
    rate = f"{kbps}kbit"
    sh(*f"tc class add dev lo parent 1: classid 1:20 htb rate {rate} ceil {rate}".split())
    for port in ports:
        match = f"u32 match ip dport {port} 0xffff flowid 1:20"
        sh(*f"tc filter add dev lo protocol ip parent 1: prio 1 {match}".split())


def main() -> None:
    size_mib, kbps = float(sys.argv[1]), int(sys.argv[2])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with tempfile.TemporaryDirectory(prefix="bench-shaped-") as tmp:
        work = Path(tmp)
        path = ut.make_file(work / "shaped.bin", int(size_mib * 1024 * 1024))
        with ut.bench_backend(work / "data", tls=False) as backend:
            s3_url, _ = ut._presigned(backend, path)
            ports = [urlsplit(backend.base_url).port, urlsplit(s3_url).port]
            shape([p for p in ports if p], kbps)
            link_bps = kbps * 1000
            print(f"{'tool':18} {'size':>8} {'PUT s':>8} {'goodput kbit/s':>15} {'of link':>8}")
            for tool in ("curl", "recorder", "put_file", "requests-read-all"):
                got = ut.run_tool(tool, backend, path)
                bps = path.stat().st_size * 8 / got.put_s
                print(
                    f"{tool:18} {size_mib:>5} Mi {got.put_s:8.1f} {bps / 1000:15.0f} {bps / link_bps:8.1%}",
                    flush=True,
                )


if __name__ == "__main__":
    main()

"""Run one put_file in this process and print its peak RSS growth as JSON (used in a subprocess).

Usage: python -m tests.rss_put URL FILE CHUNK_KIB [HEADERS_JSON]
Baseline: resident size after imports and a warm-up; growth: peak (VmHWM) minus that baseline.
"""

from __future__ import annotations

import json
import sys

from device.transfer import put_file


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main() -> None:
    url, path, chunk_kib = sys.argv[1], sys.argv[2], int(sys.argv[3])
    headers = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    baseline = _status_kib("VmRSS")
    result = put_file(url, headers, path, chunk_size=chunk_kib * 1024, timeout=(10, 120))
    peak = _status_kib("VmHWM")
    print(
        json.dumps(
            {
                "baseline_kib": baseline,
                "peak_kib": peak,
                "growth_kib": peak - baseline,
                "bytes_sent": result.bytes_sent,
                "md5": result.md5_hex,
            }
        )
    )


if __name__ == "__main__":
    main()

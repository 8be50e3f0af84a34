"""The agent's steady footprint: RSS and CPU of `recorder run` while idle and while recording
(simulated microphone and camera, fake modem, local bench backend; the same stack as the demo)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from tools.agent_harness import wait_until
from tools.demo import Stack

TICK = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def sample(pid: int, seconds: float) -> tuple[int, float]:
    """(max RSS KiB, CPU % of one core) over `seconds`."""
    cpu0, t0, peak = cpu_seconds(pid), time.monotonic(), 0
    while time.monotonic() - t0 < seconds:
        peak = max(peak, rss_kib(pid))
        time.sleep(0.5)
    return peak, 100 * (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)


def run(args) -> None:
    window = 5.0 if getattr(args, "quick", False) else 15.0
    work = Path(tempfile.mkdtemp(prefix="recorder-footprint-"))
    stack = Stack(work, say=lambda text: None)
    try:
        stack.start({"heartbeat": {"interval_seconds": 30.0}})
        pid = stack.agent.pid
        wait_until(lambda: stack.cloud.state().get("heartbeats"), 30, what="first heartbeat")
        time.sleep(3)
        idle = sample(pid, window)
        stack.start_command(int(window * 2 + 10))
        wait_until(lambda: stack.cloud.state().get("recordings"), 30, what="the recording")
        time.sleep(3)
        recording = sample(pid, window)
    finally:
        stack.close()
    print(
        f"{'state':12} {'RSS MiB':>8} {'CPU %':>7}   (window {window:.0f} s; reference: < 60 MiB, idle < 2 %)"
    )
    for name, (kib, cpu) in (("idle", idle), ("recording", recording)):
        print(f"{name:12} {kib / 1024:8.1f} {cpu:7.1f}")

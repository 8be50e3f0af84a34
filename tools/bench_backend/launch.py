"""Start `bench-backend` as a subprocess and stop it again, checking nothing survives.

Used by the test fixture and the demo: the first stdout line is the API base URL, the second
the JSON details; stderr goes to `<data>/backend.log`.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tools.bench_backend.errors import BackendError

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


class LaunchError(BackendError, RuntimeError):
    """The backend did not start, or left processes behind when stopped."""


@dataclass
class Launched:
    proc: subprocess.Popen[str]
    base_url: str
    details: dict[str, Any]
    data_dir: Path

    def stop(self) -> None:
        """SIGTERM, wait, SIGKILL the group if needed; raise if any process group survives."""
        stop_process(self.proc, self.details.get("s3_pid"))


def start(data_dir: Path, *args: str, timeout: float = START_TIMEOUT) -> Launched:
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tools.bench_backend.cli", "--port", "0",
               "--data", str(data_dir), *args]  # fmt: skip
    with open(data_dir / "backend.log", "ab") as log:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                                cwd=REPO, start_new_session=True)  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stdout, 2, lines), daemon=True).start()
    try:
        first = _next_line(lines, proc, data_dir, timeout)
        details = json.loads(_next_line(lines, proc, data_dir, timeout))
    except BaseException:
        _kill_group(proc.pid)
        proc.wait()
        raise
    return Launched(proc, first.strip(), details, data_dir)


def stop_process(proc: subprocess.Popen[str], s3_pid: int | None) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
    if proc.stdout:
        proc.stdout.close()
    leftovers = [g for g in (proc.pid, s3_pid) if g and group_alive(g)]
    for group in leftovers:
        _kill_group(group)
    if leftovers:
        raise LaunchError(f"processes survived the backend stop: groups {leftovers}")


def group_alive(pgid: int, wait: float = 5.0) -> bool:
    """True if the process group still has members after `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.05)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return


def _read_lines(stream: IO[str], count: int, out: queue.Queue[str | None]) -> None:
    for _ in range(count):
        line = stream.readline()
        out.put(line or None)
        if not line:
            return


def _next_line(
    lines: queue.Queue[str | None], proc: subprocess.Popen[str], data_dir: Path, timeout: float
) -> str:
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        line = None
    if not line:
        log_tail = (data_dir / "backend.log").read_text(errors="replace")[-2000:]
        raise LaunchError(
            f"bench-backend did not start (exit code {proc.poll()}); log tail:\n{log_tail}"
        )
    return line

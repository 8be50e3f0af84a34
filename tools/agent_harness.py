"""Run the real agent as a process for the demo and the end-to-end tests: write its config, seal its
token, start `recorder run` in its own process group, and stop it (and anything else) by that group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent


class Proc:
    """A child in its own process group; `stop()` sends SIGTERM to the group, then SIGKILL."""

    def __init__(
        self,
        argv: list[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
        stdout: Any = subprocess.PIPE,
        stderr: Any = None,
        cwd: str | Path | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.popen = subprocess.Popen(
            argv,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=str(cwd or REPO),
            start_new_session=True,
            text=True,
        )
        self.pid = self.popen.pid

    def first_line(self, timeout_s: float = 60.0) -> str:
        """The first stdout line (a URL, a pty path), or an error with what the child said."""
        box: list[str] = []
        reader = threading.Thread(
            target=lambda: box.append(self.popen.stdout.readline()), daemon=True
        )
        reader.start()
        reader.join(timeout_s)
        line = box[0].strip() if box else ""
        if not line:
            code = self.popen.poll()
            self.stop()
            raise RuntimeError(
                f"{self.name} printed no first line within {timeout_s:.0f} s (exit {code})"
            )
        return line

    def drain_stdout(self, sink: IO[str] | None = None) -> None:
        """Keep reading stdout in the background so the child never blocks on a full pipe."""

        def pump() -> None:
            for line in self.popen.stdout:
                if sink is not None:
                    sink.write(line)
                    sink.flush()

        threading.Thread(target=pump, daemon=True).start()

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            os.killpg(self.pid, signum)

    def wait(self, timeout_s: float) -> int | None:
        try:
            return self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace_s: float = 5.0) -> int | None:
        """SIGTERM the process group, wait `grace_s`, then SIGKILL it; the exit status."""
        if self.popen.poll() is None:
            _killpg(self.pid, signal.SIGTERM)
            if self.wait(grace_s) is None:
                _killpg(self.pid, signal.SIGKILL)
                self.wait(5)
        else:
            _killpg(self.pid, signal.SIGKILL)  # stragglers left in the group
        return self.popen.returncode


def _killpg(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def recorder_argv(config: Path, *verb: str) -> list[str]:
    return [sys.executable, "-m", "device.cli", "--config", str(config), *verb]


def agent_config(
    work: Path,
    base_url: str,
    *,
    modem_port: str = "",
    ca_bundle: str = "",
    overrides: Mapping[str, Mapping[str, object]] | None = None,
) -> dict[str, dict[str, object]]:
    """A config for the agent on simulated hardware against a local backend."""
    sections: dict[str, dict[str, object]] = {
        "api": {
            "base_url": base_url,
            "token_file": str(work / "token.sealed"),
            "key_file": str(work / "vault.key"),
            "ca_bundle": ca_bundle,
            "connect_timeout_s": 5.0,
            "read_timeout_s": 10.0,
        },
        "spool": {"dir": str(work / "spool"), "max_mb": 256},
        "upload": {"retry_base_s": 0.2, "retry_max_s": 2.0, "poll_interval_s": 0.5},
        "audio": {"backend": "sim", "sim_source": "tone", "segment_seconds": 5.0},
        "camera": {"backend": "sim", "interval_seconds": 5.0, "width": 320, "height": 240},
        "heartbeat": {"interval_seconds": 2.0},
        "log": {"level": "INFO", "file": str(work / "logs" / "recorder.log")},
        "agent": {"name": "demo-recorder", "heartbeat_retry_s": 1.0, "restart_backoff_base_s": 0.5},
    }
    if modem_port:
        sections["modem"] = {"port": modem_port, "poll_interval_s": 2.0}
    for name, table in (overrides or {}).items():
        sections.setdefault(name, {}).update(table)
    return sections


def provision(config: Path, device_id: str, token: str) -> None:
    """`recorder provision`: the token goes in on stdin and is sealed into api.token_file."""
    proc = subprocess.run(
        recorder_argv(config, "provision", "--device-id", device_id),
        input=token + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(REPO),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"recorder provision failed ({proc.returncode}): {proc.stderr.strip()}")


def start_agent(
    config: Path, log_path: Path, *extra: str, env: Mapping[str, str] | None = None
) -> Proc:
    """`recorder run` with stderr into `log_path` (appended)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as sink:
        return Proc(
            recorder_argv(config, "run", *extra),
            name="recorder run",
            env={**os.environ, **(env or {})},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def wait_until(predicate, timeout_s: float, every_s: float = 0.2, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; TimeoutError naming `what`."""
    end = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)

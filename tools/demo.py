"""The one-command demo (`make run`): the real agent on simulated microphone and camera, with the fake
modem (normal scenario), against the local bench backend (API emulator + SeaweedFS S3).

It sends a start_recording command through the backend, lets the agent record about 20 s (audio
segments and camera stills), waits until the recording is uploaded and completed, prints what the
cloud holds and where the logs are, and stops every process it started, by process group.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tools.agent_harness import (
    Proc,
    agent_config,
    provision,
    start_agent,
    wait_until,
)
from tools.bench_backend import launch
from tools.config_files import write_config


class Cloud:
    """The bench backend's admin side (plain HTTP on loopback)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.root = base_url.split("/v1")[0]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.root + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as reply:
            return json.loads(reply.read() or b"null")

    def state(self) -> dict[str, Any]:
        return self.admin("GET", "/_admin/state")


class Stack:
    """Backend, fake modem and agent for one device; `close()` stops them all by process group."""

    def __init__(self, work: Path, say=print) -> None:
        self.work, self.say = work, say
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: list[Proc] = []
        self.backend: launch.Launched | None = None
        self.cloud: Cloud | None = None
        self.device: dict[str, Any] = {}
        self.agent: Proc | None = None
        self.config = work / "config.toml"

    def start(self, overrides: dict[str, dict[str, object]] | None = None) -> Stack:
        self.backend = launch.start(self.work / "backend")
        self.cloud = Cloud(self.backend.base_url)
        self.say(f"bench backend at {self.cloud.base_url} (pid {self.backend.proc.pid})")
        link = str(self.work / "ttyMODEM")
        modem = self._spawn(
            "fake-modem", ["-m", "tools.fake_modem.cli", "--scenario", "normal", "--link", link]
        )
        pty = modem.first_line(30)
        modem.drain_stdout()
        self.say(f"fake modem on {pty} (pid {modem.pid})")
        self.device = self.cloud.admin("POST", "/_admin/devices", {})
        _write_config(self.work, self.cloud.base_url, pty, overrides)
        provision(self.config, self.device["id"], self.device["device_token"])
        self.say(f"device {self.device['id']} provisioned; config {self.config}")
        self.agent = start_agent(self.config, self.logs / "agent-stderr.log")
        self.procs.append(self.agent)
        self.say(f"agent running (pid {self.agent.pid})")
        return self

    def _spawn(self, tool: str, args: list[str]) -> Proc:
        sink = open(self.logs / f"{tool}.log", "w")  # noqa: SIM115 - the child writes it
        try:
            proc = Proc([sys.executable, *args], name=tool, stderr=sink)
        finally:
            sink.close()
        self.procs.append(proc)
        return proc

    def check_agent(self) -> None:
        """Raise with the end of the agent's log if it has exited."""
        if self.agent is not None and self.agent.popen.poll() is not None:
            log = self.logs / "agent-stderr.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"the agent exited ({self.agent.popen.returncode}):\n{tail}")

    def start_command(self, seconds: int, upload_immediately: bool = True) -> dict[str, Any]:
        assert self.cloud is not None
        return self.cloud.admin(
            "POST",
            f"/_admin/devices/{self.device['id']}/commands",
            {
                "type": "start_recording",
                "params": {
                    "max_duration_sec": seconds,
                    "upload_immediately": upload_immediately,
                    "metadata": {"demo": True},
                },
            },
        )

    def close(self) -> list[int]:
        """Stop the agent and the modem by process group, then the backend (and its S3 server)."""
        pids = []
        for proc in reversed(self.procs):
            proc.stop()
            pids.append(proc.pid)
        self.procs.clear()
        if self.backend is not None:
            self.backend.stop()
            pids.append(self.backend.proc.pid)
            self.backend = None
        return pids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__)
    parser.add_argument("--seconds", type=int, default=20, help="recording length (default 20)")
    parser.add_argument("--dir", default="", help="work directory (default: a new temp directory)")
    args = parser.parse_args(argv)
    work = Path(args.dir or tempfile.mkdtemp(prefix="recorder-demo-")).resolve()
    started = time.monotonic()
    stack = Stack(work, lambda text: _step(started, text))
    try:
        _step(started, f"work directory {work}")
        stack.start()
        _demo(stack, args.seconds, started)
        return 0
    finally:
        pids = stack.close()
        print(f"\nstopped {len(pids)} process(es) by process group: {', '.join(map(str, pids))}")


def _step(started: float, text: str) -> None:
    print(f"[{time.monotonic() - started:5.1f} s] {text}", flush=True)


def _demo(stack: Stack, seconds: int, started: float) -> None:
    cloud = stack.cloud
    wait_until(
        lambda: stack.check_agent() or _heartbeats(cloud), 30, what="the agent's first heartbeat"
    )
    _step(started, "first heartbeat received")
    command = stack.start_command(seconds)
    _step(started, f"sent {command['type']} {command['id']} ({seconds} s) through the backend")
    recording = wait_until(
        lambda: stack.check_agent() or _completed(cloud),
        seconds + 90,
        every_s=0.5,
        what="the recording to be completed",
    )
    _step(started, "recording uploaded and completed")
    try:
        wait_until(lambda: _settled(cloud), 10, what="an idle heartbeat")
    except TimeoutError:
        pass  # the report shows the state as it is
    _report(cloud, recording, command["id"], stack.work)


def _write_config(
    work: Path, base_url: str, pty: str, extra: dict[str, dict[str, object]] | None = None
) -> Path:
    (work / "net.json").write_text(
        json.dumps(
            {"links": {"wlan0": {"kind": "wifi", "addresses": ["127.0.0.1"], "ssid": "bench"}}}
        )
    )
    (work / "power.json").write_text(
        json.dumps({"battery": {"present": True, "capacity_percent": 82, "status": "discharging"}})
    )
    sections = agent_config(
        work,
        base_url,
        modem_port=pty,
        overrides={
            "net": {"backend": "sim", "sim_file": str(work / "net.json")},
            "power": {"backend": "sim", "sim_file": str(work / "power.json")},
            **(extra or {}),
        },
    )
    return write_config(work / "config.toml", sections)


def _heartbeats(cloud: Cloud) -> list[dict[str, Any]]:
    return cloud.state().get("heartbeats", [])


def _settled(cloud: Cloud) -> bool:
    beats = _heartbeats(cloud)
    last = beats[-1].get("body", beats[-1]) if beats else {}
    return last.get("device_state") == "idle" and last.get("pending_recordings") == 0


def _completed(cloud: Cloud) -> dict[str, Any] | None:
    for rec in cloud.state().get("recordings", {}).values():
        if rec["status"] in ("uploaded", "processing", "completed") and rec["media"]:
            return rec
    return None


def _report(cloud: Cloud, recording: dict[str, Any], command_id: str, work: Path) -> None:
    state = cloud.state()
    rec = state["recordings"][recording["id"]]
    print(f"\nThe cloud now holds recording {rec['id']} ({rec['status']})")
    print(
        f"  started {rec['started_at']}  ended {rec['ended_at'] or '(not sent)'}"
        f"  metadata {json.dumps(rec['metadata'])}"
    )
    print(f"  {'media':38} {'type':6} {'mime':11} {'bytes':>8}  captured_at               status")
    total = 0
    for m in sorted(rec["media"], key=lambda m: (m.get("captured_at") or "", m["type"])):
        size = m.get("object_size") or m.get("file_size_bytes") or 0
        total += size
        print(
            f"  {m['id']:38} {m['type']:6} {m['mime_type']:11} {size:8d}  {m.get('captured_at') or '-':25} {m['status']}"
        )
    print(f"  {len(rec['media'])} media, {total} bytes")
    cmd = state["commands"].get(command_id, {})
    print(f"command {command_id}: {cmd.get('status')} result {json.dumps(cmd.get('result'))}")
    beats = state.get("heartbeats", [])
    if beats:
        last = beats[-1].get("body", beats[-1])
        shown = {k: v for k, v in last.items() if k != "command_results"}
        print(f"{len(beats)} heartbeats; the last: {json.dumps(shown, sort_keys=True)}")
    print("\nLogs:")
    for path in sorted((work / "logs").iterdir()):
        print(f"  {path}")
    print(f"  {work / 'backend' / 'backend.log'}")
    print(f"Spool: {work / 'spool'}   Config: {work / 'config.toml'}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (TimeoutError, RuntimeError, OSError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        sys.exit(1)

"""A real network link to measure on, and a real HTTP PUT that asks an UploadGate as it goes: a veth pair into a fresh network namespace, and a sink in it.

The host end's kernel counters count every byte a transfer puts on it, per packet (GSO off), as a
cellular modem's driver would. Needs root (ip netns, ip link). Everything made is removed on exit.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device import transfer
from device.api_errors import TransferAborted
from device.gate import GateDecision, UploadGate

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Veth:
    namespace: str
    host_if: str
    peer_if: str
    host_addr: str
    peer_addr: str


@dataclass(frozen=True)
class Sink:
    host: str
    port: int


def _ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"ip {' '.join(args)} failed: {proc.stderr.strip()}")


def _no_ipv6(ns: str | None, ifname: str) -> None:
    """IPv6 off on the pair so neighbour discovery adds no traffic nobody asked for."""
    cmd = ["sysctl", "-q", "-w", f"net.ipv6.conf.{ifname}.disable_ipv6=1"]
    subprocess.run(
        (["ip", "netns", "exec", ns] if ns else []) + cmd, check=True, capture_output=True
    )


def remove_stale() -> list[str]:
    """Delete pairs left by a run that was killed (named polns<pid>, that pid no longer running)."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    removed = []
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        tag = name[len("polns") :]
        if name.startswith("polns") and tag.isdigit() and not Path(f"/proc/{tag}").exists():
            subprocess.run(["ip", "link", "del", f"polh{tag}"], capture_output=True)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            removed.append(name)
    return removed


@contextmanager
def veth_pair(tag: str | None = None) -> Iterator[Veth]:
    """Host end here, peer end in a new namespace, a /30 between them; removed afterwards."""
    if os.geteuid() != 0:
        raise RuntimeError("a veth pair needs root (ip netns add, ip link add)")
    remove_stale()
    pid = os.getpid()
    tag = tag or str(pid)
    net = f"10.{200 + pid % 50}.{(pid // 50) % 250}"
    v = Veth(f"polns{tag}", f"polh{tag}", f"poln{tag}", f"{net}.1", f"{net}.2")
    _ip("netns", "add", v.namespace)
    try:
        _ip("link", "add", v.host_if, "type", "veth", "peer", "name", v.peer_if)
        _ip("link", "set", v.peer_if, "netns", v.namespace)
        _no_ipv6(None, v.host_if)
        _no_ipv6(v.namespace, v.peer_if)
        _ip("addr", "add", f"{v.host_addr}/30", "dev", v.host_if)
        _ip("-n", v.namespace, "addr", "add", f"{v.peer_addr}/30", "dev", v.peer_if)
        _ip("link", "set", v.host_if, "gso_max_segs", "1")
        _ip("-n", v.namespace, "link", "set", v.peer_if, "gso_max_segs", "1")
        _ip("link", "set", v.host_if, "up")
        _ip("-n", v.namespace, "link", "set", v.peer_if, "up")
        _ip("-n", v.namespace, "link", "set", "lo", "up")
        yield v
    finally:
        subprocess.run(["ip", "link", "del", v.host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", v.namespace], capture_output=True)


@contextmanager
def http_sink(host: str, namespace: str | None = None) -> Iterator[Sink]:
    """tools/http_sink.py listening on `host` (inside `namespace` if given); stopped by its group."""
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "tools.http_sink", host],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"sink server did not start (said {line!r}, exit {proc.poll()})")
        yield Sink(host, int(line))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class Refused(Exception):
    def __init__(self, decision: GateDecision, bytes_sent: int) -> None:
        super().__init__(decision.reason)
        self.decision = decision
        self.bytes_sent = bytes_sent


def gated_put(
    gate: UploadGate, host: str, port: int, size: int, chunk: int = 64 * 1024
) -> dict[str, Any]:
    """PUT `size` bytes to http://host:port/ with the device's own transfer (device.transfer.put_file),
    over the link the gate picks, asking it between chunks; raise Refused when it says no.
    `sink_last` then tells what the sink saw."""
    decision = gate.before_file(size)
    if not decision.allowed:
        raise Refused(decision, 0)
    with tempfile.NamedTemporaryFile(prefix="gated-put-") as fh:
        fh.write(b"\x5a" * size)
        fh.flush()
        try:
            result = transfer.put_file(
                f"http://{host}:{port}/upload",
                {"Content-Type": "application/octet-stream"},
                fh.name,
                chunk_size=chunk,
                should_continue=gate.between_chunks,
                source_address=decision.source_address,
            )
        except TransferAborted as exc:
            refused = GateDecision(False, exc.reason, retry_after_s=exc.retry_after_s)
            raise Refused(refused, exc.bytes_sent) from exc
    return result


def sink_last(sink: Sink) -> dict[str, Any]:
    """What the sink saw last: {"received": bytes, "client": source address, "path": ...}."""
    conn = http.client.HTTPConnection(sink.host, sink.port, timeout=10)
    try:
        conn.request("GET", "/last")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()

"""The AT channel over a real pty, with a scripted peer writing the vector byte streams
(tests/vectors/modem_channel.toml), split reads, stale replies, timeouts and port loss."""

from __future__ import annotations

import os
import pty
import threading
import time
import tomllib
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from hal.modem import errors
from hal.modem.channel import AtChannel
from hal.modem.lines import LineSplitter
from hal.modem.transport import open_port

VECTORS = tomllib.loads((Path(__file__).parent / "vectors" / "modem_channel.toml").read_text())


class Peer:
    """The far end of a real pty: reads commands, writes scripted bytes."""

    def __init__(self, link: Path) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.link = link
        link.symlink_to(os.ttyname(self.slave))
        self.received = bytearray()

    def wait_command(self, timeout: float = 2.0) -> str:
        deadline = time.monotonic() + timeout
        while b"\r" not in self.received and time.monotonic() < deadline:
            self.received += os.read(self.master, 1024)
        line, _, rest = bytes(self.received).partition(b"\r")
        self.received = bytearray(rest)
        return line.decode()

    def write(self, data: bytes, split: int = 0) -> None:
        if not split:
            os.write(self.master, data)
            return
        i, n = 0, 1
        while i < len(data):
            os.write(self.master, data[i : i + n])
            i += n
            n = 1 + (n % split)
            time.sleep(0.002)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self.link.unlink(missing_ok=True)


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    p = Peer(tmp_path / "ttyPEER")
    yield p
    p.close()


@pytest.fixture
def channel(peer: Peer) -> Iterator[AtChannel]:
    ch = AtChannel(
        lambda: open_port(str(peer.link)), "peer", reopen_interval_s=0.05, sync_timeout_s=0.3
    )
    ch.open()
    yield ch
    ch.close()


def serve(peer: Peer, stream: bytes, split: int = 0) -> threading.Thread:
    def run() -> None:
        peer.wait_command()
        peer.write(stream, split)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("v", [pytest.param(v, id=v["name"]) for v in VECTORS["stream"]])
def test_stream_vectors(peer: Peer, channel: AtChannel, v: dict) -> None:
    urcs: list[str] = []
    channel.subscribe(urcs.append)
    thread = serve(peer, v["stream"].encode("latin-1"), v.get("split", 0))
    if "error" in v:
        with pytest.raises(getattr(errors, v["error"])) as info:
            channel.command(v["command"], 2.0)
        assert info.value.command == v["command"]
        if "code" in v:
            assert info.value.code == v["code"]
    else:
        reply = channel.command(v["command"], 2.0)
        assert list(reply.lines) == v["lines"] and reply.final == v["final"]
    thread.join(2)
    deadline = time.monotonic() + 1.0
    while len(urcs) < len(v["urcs"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert urcs == v["urcs"]


def test_splitter_bounds_and_tolerates_partial_lines() -> None:
    sp = LineSplitter(max_line=16)
    assert sp.feed(b"+CSQ: 1") == [] and sp.pending == "+CSQ: 1"
    assert sp.feed(b"9,99\r") == ["+CSQ: 19,99"]
    out = sp.feed(b"x" * 40 + b"\n")
    assert all(len(line) <= 16 for line in out) and sp.truncated >= 2
    assert sp.feed(b"\xff\xff\x00\r\n\r\nOK\r\n") == ["OK"]


def test_timeout_then_late_reply_is_not_taken_as_the_next(peer: Peer, channel: AtChannel) -> None:
    """A reply that arrives after its command timed out is stale: the next command re-syncs."""

    def run() -> None:
        peer.wait_command()  # AT+COPS? : answer late
        time.sleep(0.4)
        peer.write(b'\r\n+COPS: 0,0,"Late",7\r\n\r\nOK\r\n')
        while True:
            cmd = peer.wait_command()
            if cmd == "AT":
                peer.write(b"\r\nOK\r\n")
            elif cmd == "AT+CSQ":
                peer.write(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
                return
            elif not cmd:
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    with pytest.raises(errors.AtTimeout) as info:
        channel.command("AT+COPS?", 0.2)
    assert isinstance(info.value, TimeoutError) and "AT+COPS?" in str(info.value)
    time.sleep(0.5)  # the late reply lands while nothing is pending
    reply = channel.command("AT+CSQ", 2.0)
    assert reply.lines == ("+CSQ: 20,99",)
    assert channel.stale_lines >= 1
    thread.join(2)


def test_port_loss_fails_pending_and_reopens(tmp_path: Path) -> None:
    link = tmp_path / "ttyGONE"
    peer = Peer(link)
    states: list[tuple[bool, str]] = []
    ch = AtChannel(lambda: open_port(str(link)), "gone", reopen_interval_s=0.05)
    ch.subscribe_state(lambda ok, why: states.append((ok, why)))
    ch.open()
    try:
        result: list[BaseException] = []

        def call() -> None:
            try:
                ch.command("AT+CSQ", 5.0)
            except errors.ModemError as exc:
                result.append(exc)

        t = threading.Thread(target=call)
        t.start()
        peer.wait_command()
        peer.close()  # the pty disappears like a USB port
        t.join(3)
        assert result and isinstance(result[0], errors.PortGone)
        with pytest.raises(errors.PortGone):
            ch.command("AT", 0.5)
        peer = Peer(link)  # ... and comes back at the same path
        deadline = time.monotonic() + 3
        while not ch.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        serve(peer, b"\r\nOK\r\n")
        assert ch.command("AT", 2.0).final == "OK"
        assert states[0][0] is False and states[-1] == (True, "reopened")
    finally:
        ch.close()
        peer.close()


def test_open_missing_port_names_it(tmp_path: Path) -> None:
    with pytest.raises(errors.PortGone) as info:
        open_port(str(tmp_path / "nope"))
    assert "nope" in str(info.value) and isinstance(info.value, ConnectionError)


def test_loop_url_and_spy_url(tmp_path: Path, peer: Peer) -> None:
    """pyserial URLs other than device paths open through the same transport; spy:// records
    every byte both ways (how a capture from a real modem is taken)."""
    port = open_port("loop://")
    port.write(b"AT\r")
    assert port.read(3) == b"AT\r"
    port.close()
    capture = tmp_path / "spy.txt"
    ch = AtChannel(lambda: open_port(f"spy://{peer.link}?file={capture}"), "spy").open()
    try:
        serve(peer, b"\r\n+CSQ: 19,99\r\n\r\nOK\r\n")
        assert ch.command("AT+CSQ", 2.0).lines == ("+CSQ: 19,99",)
    finally:
        ch.close()
    text = capture.read_text()
    assert "AT+CSQ" in text and "+CSQ: 19,99" in text

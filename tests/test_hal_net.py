"""hal/net: the sysfs backend on the real `lo` and a real veth pair; the sim backend's state file."""

from __future__ import annotations

import socket
import subprocess

import pytest

from hal.net import LinkNotFound, SimStateError, open_backend
from hal.net.sim import SimNet
from hal.net.sysfs import SysfsNet


def _udp_to_self(count: int, size: int) -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
    ):
        rx.bind(("127.0.0.1", 0))
        for _ in range(count):
            tx.sendto(b"x" * size, rx.getsockname())
            rx.recv(size)


def test_loopback_state_addresses_and_counters() -> None:
    net = SysfsNet()
    assert "lo" in net.names()
    lo = net.link("lo")
    assert lo.kind == "loopback" and lo.up and lo.usable
    assert lo.source_address == "127.0.0.1"
    before = sum(net.counters("lo"))
    _udp_to_self(20, 1000)
    # each datagram crosses lo once, counted as tx and as rx: 2 x (1000 + 28 IP/UDP header) at least
    assert sum(net.counters("lo")) - before >= 20 * 2 * 1028


def test_missing_interface_is_link_not_found() -> None:
    with pytest.raises(LinkNotFound, match="'nosuch0'"):
        SysfsNet().link("nosuch0")
    with pytest.raises(LinkNotFound):
        SysfsNet().counters("../lo")


def test_veth_up_down_and_kinds(veth) -> None:
    net = SysfsNet(kinds={veth.host_if: "cellular"})
    link = net.link(veth.host_if)
    assert link.kind == "cellular" and link.addresses == (veth.host_addr,) and link.usable
    assert SysfsNet().link(veth.host_if).kind == "ethernet"  # a veth is ARPHRD_ETHER
    subprocess.run(["ip", "link", "set", veth.host_if, "down"], check=True)
    try:
        down = net.link(veth.host_if)
        assert down.operstate == "down" and not down.up and not down.usable
    finally:
        subprocess.run(["ip", "link", "set", veth.host_if, "up"], check=True)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind 'lte'"):
        SysfsNet(kinds={"wwan0": "lte"})


def test_sim_links_flip_and_mirror_real_counters(tmp_path) -> None:
    path = tmp_path / "links.json"
    sim = SimNet(path)
    sim.update("wlan0", kind="wifi", addresses=["127.0.0.1"], ssid="bench", signal_dbm=-51)
    sim.update("wwan0", kind="cellular", addresses=["127.0.0.1"], counters_from="lo", rx_bytes=5)
    other = open_backend("sim", str(path))  # another reader of the same file (another process)
    assert other.names() == ("wlan0", "wwan0")
    wifi = other.link("wlan0")
    assert wifi.usable and wifi.ssid == "bench" and wifi.signal_dbm == -51
    before = other.counters("wwan0")
    _udp_to_self(10, 500)
    after = other.counters("wwan0")
    assert after[0] - before[0] >= 10 * 528 and after[1] - before[1] >= 10 * 528
    sim.update("wlan0", operstate="down")
    assert not other.link("wlan0").up
    sim.remove("wlan0")
    with pytest.raises(LinkNotFound):
        other.link("wlan0")


@pytest.mark.parametrize(
    "content, problem",
    [
        ("{", "unreadable"),
        ('{"links": []}', 'must be an object {"links"'),
        ('{"links": {"w": {"kind": "lte"}}}', "links.w.kind: 'lte' not one of"),
        ('{"links": {"w": {"rx_bytes": "1"}}}', "links.w.rx_bytes: wrong type str"),
        ('{"links": {"w": {"speed": 1}}}', "links.w.speed: unknown field"),
    ],
)
def test_sim_state_errors_name_file_and_field(tmp_path, content: str, problem: str) -> None:
    path = tmp_path / "links.json"
    path.write_text(content)
    with pytest.raises(SimStateError) as err:
        SimNet(path).link("w")
    assert str(path) in str(err.value) and problem in str(err.value)


def test_sim_missing_file_is_clear(tmp_path) -> None:
    with pytest.raises(SimStateError, match="state file not found"):
        SimNet(tmp_path / "none.json").names()

"""The policy on real links: the budget counted from a real interface, uploads bound to the chosen address.

The cellular data interface is played by the host end of a real veth pair into a network namespace
(a cell tower cannot run here): its kernel byte counters are real and count every byte of a real HTTP
PUT, TCP handshake, headers, ACKs and FIN included. The modem's registration is injected as a value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from device.api import ApiClient
from device.api_errors import MalformedReply
from device.config import UploadConfig
from device.policy import CellularBudget, CellularState, Interfaces, PolicyGate, UploadPolicy
from device.policy.budget import connect
from device.policy.rules import MIB
from hal.net.sim import SimNet
from hal.net.sysfs import SysfsNet
from tools.netlab import Refused, gated_put, sink_last


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def cellular_gate(tmp_path, veth, **upload: object) -> tuple[PolicyGate, Clock]:
    policy = UploadPolicy.from_config(UploadConfig(mode="4g_only", **upload))  # type: ignore[arg-type]
    net = SysfsNet(kinds={veth.host_if: "cellular"})
    budget = CellularBudget(connect(tmp_path / "policy.db"), policy.zone)
    clock = Clock()
    home = CellularState("home", True)
    gate = PolicyGate(
        policy, net, Interfaces(cellular=veth.host_if), budget, None, lambda: home, clock
    )
    return gate, clock


def test_budget_counts_protocol_overhead_from_the_interface(tmp_path, veth, veth_sink) -> None:
    gate, _ = cellular_gate(tmp_path, veth, daily_cellular_mb=100)
    net = SysfsNet()
    size = 2 * MIB
    start = gate.sample()
    wire0 = sum(net.counters(veth.host_if))
    gated_put(gate, veth_sink.host, veth_sink.port, size)
    counted_during = gate.budget.used(gate.clock()) - start  # as of the last between_chunks
    wire = sum(net.counters(veth.host_if)) - wire0
    counted = gate.sample() - start
    seen = sink_last(veth_sink)
    assert (seen["received"], seen["client"]) == (
        size,
        veth.host_addr,
    )  # bound to the veth's address
    assert wire > size  # headers, TCP/IP, ACKs: the payload alone would under-count
    assert 0 <= counted - wire <= 1500  # the same counters; at most a trailing FIN/ACK later
    assert 0 < wire - counted_during  # the reply and the last chunk came after the last gate call
    print(
        f"\n[budget accounting] payload {size} B, interface {wire} B "
        f"(overhead {100 * (wire - size) / size:.2f}%), counted {counted} B, "
        f"error after final sample {counted - wire} B, "
        f"lag at last chunk {wire - counted_during} B ({100 * (wire - counted_during) / wire:.2f}%)"
    )


def test_budget_stops_the_file_that_would_exceed_and_resumes_after_midnight(
    tmp_path, veth, veth_sink
) -> None:
    gate, clock = cellular_gate(tmp_path, veth, daily_cellular_mb=3)
    gate.sample()
    done = 0
    with pytest.raises(Refused) as refused:
        for _ in range(5):
            gated_put(gate, veth_sink.host, veth_sink.port, MIB)
            done += 1
    assert done == 2 and refused.value.bytes_sent == 0  # refused before a byte was sent
    assert refused.value.decision.reason.startswith("daily cellular budget:")
    used = gate.sample()
    assert 2 * MIB < used <= 3 * MIB
    clock.now += timedelta(seconds=refused.value.decision.retry_after_s or 0)
    gated_put(gate, veth_sink.host, veth_sink.port, MIB)
    assert gate.sample() > MIB  # the new day counts only today's file


def test_uploads_bind_to_the_chosen_links_address(tmp_path, loopback_sink) -> None:
    """Two simulated links on loopback: 'cellular' 127.0.0.1, 'wifi' 127.0.0.2; the server sees which."""
    net = SimNet(tmp_path / "links.json")
    net.update("wwan0", kind="cellular", addresses=["127.0.0.1"])
    policy = UploadPolicy.from_config(UploadConfig(mode="wifi_preferred"))
    budget = CellularBudget(connect(tmp_path / "policy.db"), policy.zone)
    home = CellularState("home", True)
    gate = PolicyGate(policy, net, Interfaces("wlan0", "", "wwan0"), budget, None, lambda: home)
    gated_put(gate, "127.0.0.1", loopback_sink.port, 1000)
    assert sink_last(loopback_sink)["client"] == "127.0.0.1"
    net.update("wlan0", kind="wifi", addresses=["127.0.0.2"], ssid="office")
    gated_put(gate, "127.0.0.1", loopback_sink.port, 1000)
    assert sink_last(loopback_sink)["client"] == "127.0.0.2"


@pytest.mark.parametrize("source", ["127.0.0.1", "127.0.0.2"])
def test_api_client_binds_to_the_source_address(loopback_sink, source: str) -> None:
    """The upload path's API client honours GateDecision.source_address (real sockets on lo)."""
    base = f"http://127.0.0.1:{loopback_sink.port}/v1"
    with ApiClient(base, "dtok_test", source_address=source) as client:
        try:
            client.heartbeat({})
        except MalformedReply:
            pass  # the sink is not the API; what matters is where the request came from
    assert sink_last(loopback_sink) == {
        "received": 2,
        "client": source,
        "path": "/v1/devices/me/heartbeat",
    }

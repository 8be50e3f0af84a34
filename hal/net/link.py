"""The value one link read yields, and the shape every backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

KINDS = ("wifi", "ethernet", "cellular", "loopback", "other")


@dataclass(frozen=True)
class LinkState:
    """One interface at one moment: usable or not, its addresses and its byte counters."""

    name: str
    kind: str  # one of KINDS
    operstate: str  # kernel operstate: up, down, dormant, unknown, ...
    carrier: bool
    addresses: tuple[str, ...] = ()  # IPv4 first, then global/host IPv6; no link-local
    rx_bytes: int = 0
    tx_bytes: int = 0
    ssid: str | None = None  # WiFi only, when known
    signal_dbm: int | None = None  # WiFi only, when known

    @property
    def up(self) -> bool:
        """Carries traffic: operstate up (or unknown, as loopback and some tun drivers report) with carrier."""
        return self.carrier and self.operstate in ("up", "unknown")

    @property
    def usable(self) -> bool:
        """Up and has an address to bind uploads to."""
        return self.up and bool(self.addresses)

    @property
    def source_address(self) -> str | None:
        """The address uploads over this link bind to (its first IPv4, else its first IPv6)."""
        return self.addresses[0] if self.addresses else None

    @property
    def total_bytes(self) -> int:
        return self.rx_bytes + self.tx_bytes


class NetBackend(Protocol):
    def names(self) -> tuple[str, ...]:
        """Every interface this backend knows, in a stable order."""
        ...

    def link(self, name: str) -> LinkState:
        """The current state of one interface; LinkNotFound if it does not exist."""
        ...

    def counters(self, name: str) -> tuple[int, int]:
        """(rx_bytes, tx_bytes) only: cheap enough to read between chunks."""
        ...

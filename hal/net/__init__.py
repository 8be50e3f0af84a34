"""Link state of the network interfaces (WiFi, Ethernet, the cellular data interface) and their counters.

One shape (`NetBackend`), two backends: `sysfs` reads the real kernel state (/sys/class/net, /proc),
`sim` reads a small JSON state file another process (or a test) can rewrite. `open_backend` picks one.
"""

from __future__ import annotations

from hal.net.errors import LinkNotFound, NetConfigError, NetError, SimStateError
from hal.net.link import KINDS, LinkState, NetBackend


def open_backend(name: str, sim_file: str = "", sysfs_root: str = "/sys/class/net") -> NetBackend:
    """The backend named by config: `sysfs` (real) or `sim` (JSON state file)."""
    if name == "sysfs":
        from hal.net.sysfs import SysfsNet

        return SysfsNet(root=sysfs_root)
    if name == "sim":
        from hal.net.sim import SimNet

        return SimNet(sim_file)
    raise NetConfigError(f"unknown net backend {name!r} (allowed: sysfs, sim)")


__all__ = [
    "KINDS",
    "LinkNotFound",
    "LinkState",
    "NetBackend",
    "NetConfigError",
    "NetError",
    "SimStateError",
    "open_backend",
]

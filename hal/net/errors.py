"""Errors of the network-link layer."""

from __future__ import annotations

from hal.errors import HalError


class NetError(HalError, OSError):
    """A link's state could not be read."""


class LinkNotFound(NetError, LookupError):
    """No interface of that name exists (unplugged USB modem, renamed interface)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"network interface {name!r} not found")
        self.name = name


class SimStateError(NetError, ValueError):
    """The simulated backend's state file is unreadable or malformed; names the file and the field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class NetConfigError(NetError, ValueError):
    """A backend was set up with a value it cannot use (unknown backend, unknown link kind)."""

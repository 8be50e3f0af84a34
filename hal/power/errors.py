"""Errors of the power and storage readings."""

from __future__ import annotations

from hal.errors import HalError


class PowerError(HalError, OSError):
    """A battery or storage reading failed."""


class PowerStateError(PowerError, ValueError):
    """The simulated backend's state file is unreadable or malformed; names the file and the field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem

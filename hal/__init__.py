"""Hardware abstraction: one interface per peripheral, a real backend and a simulated one."""

from hal.errors import HalError

__all__ = ["HalError"]

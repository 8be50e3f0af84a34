"""The policy's cellular input from the modem driver (hal/modem): registration and data session.

Duck-typed on the driver's surface (`current` -> ModemStatus, a property; `subscribe(callback) ->
unsubscribe`; events carrying `.status`), so the policy does not need the driver to import.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from device.policy.inputs import REGISTRATIONS, CellularState

log = logging.getLogger(__name__)


class ModemLike(Protocol):
    @property
    def current(self) -> Any: ...

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]: ...


def cellular_state(status: Any) -> CellularState:
    """A ModemStatus reduced to what the policy needs; unknown words become `unknown`."""
    registration = getattr(status, "registration", "unknown")
    if registration not in REGISTRATIONS:
        log.warning("modem registration %r not understood; treated as unknown", registration)
        registration = "unknown"
    return CellularState(
        registration=registration,
        data_up=getattr(status, "data_session", "down") == "up",
        signal_dbm=getattr(status, "signal_dbm", None),
    )


class ModemCellular:
    """Callable giving the latest CellularState; kept current by the driver's events."""

    def __init__(self, modem: ModemLike, on_change: Callable[[], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._on_change = on_change
        self._state = cellular_state(modem.current)
        self._unsubscribe = modem.subscribe(self._on_event)

    def __call__(self) -> CellularState:
        with self._lock:
            return self._state

    def close(self) -> None:
        self._unsubscribe()

    def _on_event(self, event: Any) -> None:
        state = cellular_state(event.status)
        with self._lock:
            changed, self._state = state != self._state, state
        if changed:
            log.info("cellular: %s, data %s", state.registration, "up" if state.data_up else "down")
            if self._on_change is not None:
                self._on_change()


def attach_modem(gate: Any, modem: ModemLike) -> ModemCellular:
    """Feed `gate` (a PolicyGate) from the modem driver; its events wake a waiting uploader.
    Close the returned adapter before closing the modem."""
    cellular = ModemCellular(modem, on_change=gate.notify_change)
    gate.cellular = cellular
    return cellular

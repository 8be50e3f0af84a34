"""Cellular modem over an AT port: transport, AT channel, parsers, driver, host data path.

The small API others use (see driver.py for an example):
- `Modem(ModemSettings(...))`: `start()`, `status() -> ModemStatus`, `current`, `subscribe(cb)`,
  `watch(stop)`, `activate_data()`, `network_time()`, `recover()`, `close()`.
- `ModemStatus` (frozen): sim, registration, operator, access_technology, signal_dbm, rssi, ber,
  imei, iccid, data_session, and extras (mcc_mnc, band, rsrp/rsrq/sinr, network_time, data_*).
- `ModemEvent(kind, status, detail)`: kind in `EVENT_KINDS` (registered, roaming, lost, data_up,
  data_down, signal, sim, restarted, port_lost, port_back).
- Errors: `ModemError(HalError)` and its family in `hal.modem.errors`.
"""

from hal.modem.channel import AtChannel, Reply
from hal.modem.driver import Modem
from hal.modem.errors import (
    AtCommandError,
    AtTimeout,
    CmeError,
    ModemError,
    PortGone,
    RecoveryFailed,
    SimError,
)
from hal.modem.settings import ModemSettings
from hal.modem.status import EVENT_KINDS, ModemEvent, ModemStatus

__all__ = [
    "EVENT_KINDS",
    "AtChannel",
    "AtCommandError",
    "AtTimeout",
    "CmeError",
    "Modem",
    "ModemError",
    "ModemEvent",
    "ModemSettings",
    "ModemStatus",
    "PortGone",
    "RecoveryFailed",
    "Reply",
    "SimError",
]

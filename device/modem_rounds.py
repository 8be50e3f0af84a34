"""One modem watch round per call, for the agent's modem worker: open the port lazily (a recorder
whose modem is dead still records), poll (keeping the data session up), recover after AT failures."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class ModemRounds:
    def __init__(self, modem: Any, keep_data: bool, data_when_roaming: bool) -> None:
        from hal.modem import ModemError, PortGone, SimError

        self.modem, self.keep_data, self.data_when_roaming = modem, keep_data, data_when_roaming
        self._quiet = (PortGone, SimError)  # the port or the SIM: recovery cannot help
        self._modem_error = ModemError
        self.started = False

    def __call__(self) -> Any:
        """The modem's status after one round; raises the modem's error (the worker logs it)."""
        if not self.started:
            self.modem.start()
            self.started = True
        try:
            return self.modem.poll(self.keep_data, self.data_when_roaming)
        except self._quiet:
            raise
        except self._modem_error as exc:
            log.warning("modem: %s; starting recovery", exc)
            self.modem.recover()
            raise

    def close(self) -> None:
        if self.started:
            self.modem.close()

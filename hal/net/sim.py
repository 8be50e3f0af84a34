"""The simulated backend: links described in a JSON file another process (a test, QA) can rewrite.

    {"links": {"wlan0": {"kind": "wifi", "operstate": "up", "carrier": true,
                         "addresses": ["127.0.0.1"], "ssid": "bench", "signal_dbm": -52,
                         "rx_bytes": 0, "tx_bytes": 0, "counters_from": "lo"}}}

`counters_from` names a real interface whose kernel counters are added to the file's counters, so a
real transfer over that interface moves the simulated link's counters. The file is re-read on every
call (it is small), and `SimNet.update` rewrites it atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hal.net.errors import LinkNotFound, SimStateError
from hal.net.link import KINDS, LinkState
from hal.net.sysfs import SysfsNet

FIELDS = {
    "kind": str,
    "operstate": str,
    "carrier": bool,
    "addresses": list,
    "rx_bytes": int,
    "tx_bytes": int,
    "ssid": (str, type(None)),
    "signal_dbm": (int, type(None)),
    "counters_from": (str, type(None)),
}


class SimNet:
    """Scriptable links: state from a JSON file, counters optionally mirrored from a real interface."""

    def __init__(self, path: str | os.PathLike[str], real: SysfsNet | None = None) -> None:
        if not str(path):
            raise SimStateError("<none>", "the sim net backend needs a state file (net.sim_file)")
        self.path = Path(path)
        self.real = real or SysfsNet()

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._read()))

    def link(self, name: str) -> LinkState:
        spec = self._spec(name)
        rx, tx = self._counters(name, spec)
        return LinkState(
            name=name,
            kind=spec.get("kind", "ethernet"),
            operstate=spec.get("operstate", "up"),
            carrier=spec.get("carrier", True),
            addresses=tuple(spec.get("addresses", ())),
            rx_bytes=rx,
            tx_bytes=tx,
            ssid=spec.get("ssid"),
            signal_dbm=spec.get("signal_dbm"),
        )

    def counters(self, name: str) -> tuple[int, int]:
        return self._counters(name, self._spec(name))

    def update(self, name: str, **fields: Any) -> None:
        """Set fields of one link (creating it), then write the file atomically."""
        links = self._read() if self.path.exists() else {}
        links.setdefault(name, {}).update(fields)
        _check_link(str(self.path), name, links[name])
        write_state(self.path, links)

    def remove(self, name: str) -> None:
        """Take a link away (a USB modem unplugged)."""
        links = self._read()
        links.pop(name, None)
        write_state(self.path, links)

    def _counters(self, name: str, spec: dict[str, Any]) -> tuple[int, int]:
        rx, tx = spec.get("rx_bytes", 0), spec.get("tx_bytes", 0)
        real = spec.get("counters_from")
        if real:
            real_rx, real_tx = self.real.counters(real)
            rx, tx = rx + real_rx, tx + real_tx
        return rx, tx

    def _spec(self, name: str) -> dict[str, Any]:
        links = self._read()
        if name not in links:
            raise LinkNotFound(name)
        return links[name]

    def _read(self) -> dict[str, dict[str, Any]]:
        where = str(self.path)
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise SimStateError(where, "state file not found") from None
        except (OSError, ValueError) as exc:
            raise SimStateError(where, f"unreadable: {exc}") from exc
        links = data.get("links") if isinstance(data, dict) else None
        if not isinstance(links, dict):
            raise SimStateError(where, 'must be an object {"links": {NAME: {...}}}')
        for name, spec in links.items():
            _check_link(where, name, spec)
        return links


def _check_link(where: str, name: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise SimStateError(where, f"links.{name}: must be an object")
    for key, value in spec.items():
        want = FIELDS.get(key)
        if want is None:
            raise SimStateError(where, f"links.{name}.{key}: unknown field")
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise SimStateError(where, f"links.{name}.{key}: wrong type {type(value).__name__}")
    if spec.get("kind", "ethernet") not in KINDS:
        raise SimStateError(
            where, f"links.{name}.kind: {spec['kind']!r} not one of {', '.join(KINDS)}"
        )


def write_state(path: str | os.PathLike[str], links: dict[str, dict[str, Any]]) -> None:
    """Write the state file atomically (temp file, fsync, rename) so a reader never sees half of it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump({"links": links}, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

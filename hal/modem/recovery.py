"""The recovery ladder: try ever heavier steps until the modem is healthy again.

Default order (built by the driver): re-register (`AT+COPS=0`), radio off/on (`AT+CFUN=0` then
`=1`), modem reset (`AT+CFUN=1,1`, wait for `RDY` or the port's return, bring-up again), then the
configured hardware reset hook. A step that raises is logged and the next one runs.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hal.errors import HalError
from hal.modem.errors import ModemError, RecoveryFailed

log = logging.getLogger("hal.modem.recovery")


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[], None]


def run_ladder(steps: Sequence[Step], healthy: Callable[[], bool]) -> str:
    """Run steps in order until healthy() is true; return the name of the step that fixed it."""
    tried: list[str] = []
    last = "not tried"
    for step in steps:
        tried.append(step.name)
        log.warning("modem recovery: %s", step.name)
        try:
            step.run()
        except HalError as exc:
            last = f"{step.name}: {exc}"
            log.warning("modem recovery step %s failed: %s", step.name, exc)
            continue
        if healthy():
            log.warning("modem recovered by %s", step.name)
            return step.name
        last = f"{step.name}: still unhealthy"
    raise RecoveryFailed(tuple(tried), last)


def run_hook(command: str, timeout_s: float) -> None:
    """Run the hardware reset hook (e.g. a GPIO toggle script); raise ModemError if it fails."""
    try:
        done = subprocess.run(
            shlex.split(command), capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModemError(f"reset hook {command!r} could not run: {exc}") from exc
    if done.returncode != 0:
        raise ModemError(
            f"reset hook {command!r} exited {done.returncode}: {done.stderr.strip()[-200:]}"
        )

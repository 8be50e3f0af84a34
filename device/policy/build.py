"""Wire the policy from config: link and power backends, interface roles, policy.db in the spool dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import hal.net
import hal.power
from device.config import Config, ConfigError
from device.policy.budget import CellularBudget, connect
from device.policy.gate import Clock, Interfaces, PolicyGate, utc_now
from device.policy.inputs import CellularState
from device.policy.rules import UploadPolicy
from device.tokens import TokenStateFile
from hal.errors import HalError

DB_NAME = "policy.db"


def policy_db_path(config: Config) -> Path:
    return Path(config.spool.dir) / DB_NAME


def open_net(config: Config) -> hal.net.NetBackend:
    try:
        return hal.net.open_backend(config.net.backend, config.net.sim_file)
    except HalError as exc:
        raise ConfigError("net.backend", config.source, str(exc)) from exc


def open_power(config: Config) -> hal.power.PowerBackend:
    try:
        return hal.power.open_backend(
            config.power.backend, config.power.sim_file, config.power.sysfs_root
        )
    except HalError as exc:
        raise ConfigError("power.backend", config.source, str(exc)) from exc


def interfaces(config: Config, net: hal.net.NetBackend) -> Interfaces:
    """Roles from config; WiFi defaults to the first wireless interface, cellular to modem.interface."""
    wifi = config.net.wifi_interface or _first_of_kind(net, "wifi")
    cellular = config.net.cellular_interface or config.modem.interface
    return Interfaces(wifi=wifi, ethernet=config.net.ethernet_interface, cellular=cellular)


def build_gate(
    config: Config,
    cellular: Callable[[], CellularState | None] = lambda: None,
    clock: Clock = utc_now,
) -> PolicyGate:
    """The agent's UploadGate for this config (`cellular` is the modem adapter, if any)."""
    policy = UploadPolicy.from_config(config.upload, config.source)
    net, power = open_net(config), open_power(config)
    os.makedirs(config.spool.dir, exist_ok=True)
    budget = CellularBudget(connect(policy_db_path(config)), policy.zone)
    roles = interfaces(config, net)
    token_problem = TokenStateFile(config.api.token_file).problem
    return PolicyGate(
        policy, net, roles, budget, power, cellular, clock, config.spool.dir, token_problem
    )


def _first_of_kind(net: hal.net.NetBackend, kind: str) -> str:
    for name in net.names():
        try:
            if net.link(name).kind == kind:
                return name
        except HalError:
            continue
    return ""

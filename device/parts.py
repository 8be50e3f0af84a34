"""Build the agent's parts from the config: spool, command ledger, API client, uploader with its
gate, capture, modem and power. Each builder says loudly which part is missing or misconfigured."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

from device.agent import Parts
from device.clock import Clock, TimeBase
from device.commands import CommandLedger
from device.config import Config, ConfigError
from device.errors import RecorderError
from device.holds import UploadHolds
from device.modem_rounds import ModemRounds
from device.workers import LivenessGate

log = logging.getLogger(__name__)
LEDGER_NAME = "agent-commands.db"


class MissingPart(RecorderError, ImportError):
    """A part the config asks for is not installed in this build (names the module and the key)."""

    def __init__(self, module: str, why: str) -> None:
        super().__init__(f"{why}: module {module} is not available in this build")
        self.module = module


def need(module: str, why: str) -> ModuleType:
    """Import a part's module or raise MissingPart saying what needed it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise MissingPart(module, why) from exc
        raise


def build(config: Config) -> Parts:
    """Every part this config asks for; on error, close what was opened and re-raise."""
    closers: list[Any] = []
    try:
        return _build(config, closers)
    except BaseException:
        for close in reversed(closers):
            close()
        raise


def _build(config: Config, closers: list[Any]) -> Parts:
    spool_mod = need("device.spool", "the spool ([spool])")
    spool = spool_mod.Spool.open(
        Path(config.spool.dir), max_mb=config.spool.max_mb, reserve_mb=config.spool.reserve_mb
    )
    closers.append(spool.close)
    ledger = CommandLedger(Path(config.spool.dir) / LEDGER_NAME)
    closers.append(ledger.close)
    parts = Parts(spool=spool, ledger=ledger, closers=closers)
    parts.api = _api(config, closers)
    parts.power = _power(config)
    modem = _modem(config, closers)
    parts.modem_status = modem
    parts.gate = _gate(config, parts, closers)
    parts.uploader = _uploader(config, parts, closers)
    parts.timebase = TimeBase(Clock(), config.capture.time_policy)
    parts.capture = _capture(config, spool, parts.timebase)
    parts.holds = UploadHolds(spool, wake=getattr(parts.uploader, "wake", None))
    parts.links = _links(config)
    return parts


def _api(config: Config, closers: list[Any]) -> Any:
    api_mod = need("device.api", "the API client ([api])")
    vault_mod = need("device.vault", "the token vault ([api] token_file)")
    vault = vault_mod.from_config(config.api)
    vault.token()  # fail now, with the vault's message, if the device is not provisioned
    client = api_mod.ApiClient(
        config.api.base_url,
        vault.token,
        ca_bundle=config.api.ca_bundle or None,
        connect_timeout=config.api.connect_timeout_s,
        read_timeout=config.api.read_timeout_s,
        max_reply_bytes=config.api.max_reply_kib * 1024,
    )
    closers.append(client.close)
    return client


def _power(config: Config) -> Any:
    build_mod = need("device.policy.build", "battery and storage readings ([power])")
    return build_mod.open_power(config)


def _links(config: Config) -> Any:
    build_mod = need("device.policy.build", "link state ([net])")
    net = build_mod.open_net(config)
    kinds = {"wifi": "wifi", "cellular": "4g"}

    def up_now() -> tuple[str, ...]:
        found = set()
        for name in net.names():
            link = net.link(name)
            if link.kind in kinds and link.usable:
                found.add(kinds[link.kind])
        return tuple(sorted(found))

    return up_now


def _gate(config: Config, parts: Parts, closers: list[Any]) -> LivenessGate:
    build_mod = need("device.policy.build", "the upload policy ([upload])")
    cellular: Any = lambda: None  # noqa: E731 - no modem: the links alone decide
    if parts.modem_status is not None:
        cellular_mod = need("device.policy.cellular", "the policy's modem input")
        cellular = cellular_mod.ModemCellular(parts.modem_status.modem)
        closers.append(cellular.close)
    return LivenessGate(build_mod.build_gate(config, cellular))


def _uploader(config: Config, parts: Parts, closers: list[Any]) -> Any:
    up = need("device.uploader", "the uploader (store-and-forward worker)")
    retry = need("device.retry", "the uploader's retry policy")
    return up.Uploader(
        parts.spool,
        parts.api,
        gate=parts.gate,
        policy=retry.RetryPolicy.from_config(config.upload),
        settings=up.UploaderSettings.from_config(config),
    )


def _capture(config: Config, spool: Any, timebase: TimeBase) -> Any:
    capture = need("device.capture", "capture ([audio], [camera])")
    return capture.from_config(config, spool, clock=timebase.clock, timebase=timebase)


def _modem(config: Config, closers: list[Any]) -> Any:
    if not config.has_modem:
        return None
    hal_modem = need("hal.modem", "the cellular modem ([modem] port)")
    try:
        settings = hal_modem.ModemSettings.from_object(config.modem)
    except ValueError as exc:
        raise ConfigError("modem", config.source, str(exc)) from exc
    rounds = ModemRounds(
        hal_modem.Modem(settings), keep_data=True, data_when_roaming=config.upload.allow_roaming
    )
    closers.append(rounds.close)
    return rounds

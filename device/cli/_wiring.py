"""Wiring shared by the verbs that use the spool and the uploader (not a verb itself)."""

from __future__ import annotations

from pathlib import Path

from device import api, vault
from device.api import ApiClient
from device.config import Config
from device.gate import ALLOW_ALL, UploadGate
from device.retry import RetryPolicy
from device.spool import Spool
from device.uploader import Uploader, UploaderSettings


def open_spool(config: Config, *, owner: bool = True) -> Spool:
    """The configured spool; `owner=False` for verbs that only read or add (safe beside the agent)."""
    return Spool.open(
        Path(config.spool.dir),
        max_mb=config.spool.max_mb,
        reserve_mb=config.spool.reserve_mb,
        repair_files=owner,
    )


def api_client(config: Config) -> ApiClient:
    """The API client with the sealed device token (read at each request, so a rotation applies)."""
    box = vault.from_config(config.api)
    box.open()  # fail now, clearly, when the token is missing or the key does not fit
    return api.from_config(config.api, box.token)


def uploader(
    config: Config, spool: Spool, client: ApiClient, gate: UploadGate = ALLOW_ALL
) -> Uploader:
    return Uploader(
        spool,
        client,
        gate=gate,
        policy=RetryPolicy.from_config(config.upload),
        settings=UploaderSettings.from_config(config),
    )

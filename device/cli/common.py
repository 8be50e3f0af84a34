"""Helpers shared by the CLI verbs."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from device import config as config_mod
from device import logsetup

log = logging.getLogger("recorder")


def load_config(args: argparse.Namespace, require_api: bool = True) -> config_mod.Config:
    """Load the config named by --config; warn about unknown keys; apply log.level."""
    result = config_mod.load(args.config, require_api=require_api)
    cfg = result.config.log
    logsetup.configure(args.log_level or cfg.level, cfg.file, cfg.max_kib, cfg.backups)
    for warning in result.warnings:
        log.warning("%s", warning)
    return result.config


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")

"""Microphones: one interface, backends chosen by name (like pySerial's URL handlers).

`open_microphone("sim", rate=16000, source="tone")` imports `hal.audio.<backend>` on demand, so a
device without the sim's needs never loads it, and callers never import a backend module.
"""

from __future__ import annotations

import importlib
from typing import Any

from hal.audio.base import RATES, AudioFrame, Microphone, level_dbfs
from hal.audio.errors import AudioError
from hal.errors import BackendUnavailable

BACKENDS = ("alsa", "sim")


def microphone_class(backend: str) -> type[Microphone]:
    """The Microphone subclass of `backend`; ValueError lists the known ones."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown audio backend {backend!r} (allowed: {', '.join(BACKENDS)})")
    return importlib.import_module(f"hal.audio.{backend}").BACKEND


def create_microphone(backend: str, **options: Any) -> Microphone:
    """A Microphone of `backend`, not yet opened; options go to the backend's constructor."""
    return microphone_class(backend)(**options)


__all__ = [
    "BACKENDS",
    "RATES",
    "AudioError",
    "AudioFrame",
    "BackendUnavailable",
    "Microphone",
    "create_microphone",
    "level_dbfs",
    "microphone_class",
]

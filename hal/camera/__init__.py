"""Cameras: one interface, backends chosen by name: `v4l2` (real UVC camera) or `sim`.

`create_camera("sim", width=640, height=360)` imports `hal.camera.<backend>` on demand.
"""

from __future__ import annotations

import importlib
from typing import Any

from hal.camera.base import Camera, Clip, Still
from hal.camera.errors import CameraError
from hal.errors import BackendUnavailable

BACKENDS = ("v4l2", "sim")


def create_camera(backend: str, **options: Any) -> Camera:
    """A Camera of `backend` (not yet opened); ValueError lists the known backends."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown camera backend {backend!r} (allowed: {', '.join(BACKENDS)})")
    return importlib.import_module(f"hal.camera.{backend}").BACKEND(**options)


__all__ = [
    "BACKENDS",
    "BackendUnavailable",
    "Camera",
    "CameraError",
    "Clip",
    "Still",
    "create_camera",
]

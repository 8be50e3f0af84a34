"""Plain `requests` calls to the bench backend's device endpoints, shared by its tests."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.fixtures.backend import BenchBackend, Device

STARTED = "2026-12-04T10:00:00.000Z"
ENDED = "2026-12-04T10:05:00.000Z"


def call(
    backend: BenchBackend, device: Device | None, method: str, path: str, **kwargs: Any
) -> requests.Response:
    headers = dict(kwargs.pop("headers", {}))
    if device is not None:
        headers.setdefault("Authorization", f"Bearer {device.token}")
    kwargs.setdefault("timeout", 30)
    kwargs.setdefault("verify", backend.ca_file or True)
    return requests.request(method, backend.base_url + path, headers=headers, **kwargs)


def create_recording(backend: BenchBackend, device: Device, **body: Any) -> dict[str, Any]:
    body = {"started_at": STARTED, "ended_at": ENDED, **body}
    reply = call(backend, device, "POST", "/recordings", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def upload_url(
    backend: BenchBackend, device: Device, rec_id: str, size: int, **body: Any
) -> dict[str, Any]:
    body = {"type": "audio", "content_type": "audio/opus", "file_size_bytes": size, **body}
    reply = call(backend, device, "POST", f"/recordings/{rec_id}/upload-url", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def put(
    backend: BenchBackend, grant: dict[str, Any], data: Any, **kwargs: Any
) -> requests.Response:
    headers = {**grant["headers"], **kwargs.pop("headers", {})}
    kwargs.setdefault("verify", backend.ca_file or True)
    kwargs.setdefault("timeout", 30)
    return requests.put(grant["upload_url"], data=data, headers=headers, **kwargs)


def complete(backend: BenchBackend, device: Device, rec_id: str) -> requests.Response:
    return call(backend, device, "POST", f"/recordings/{rec_id}/upload-complete")


def upload_file(backend: BenchBackend, device: Device, data: bytes) -> dict[str, Any]:
    """The whole path: create, upload URL, PUT, complete; returns the completed recording."""
    rec = create_recording(backend, device)
    grant = upload_url(backend, device, rec["id"], len(data))
    assert put(backend, grant, data).status_code == 200
    reply = complete(backend, device, rec["id"])
    assert reply.status_code == 200, reply.text
    return reply.json()


def key() -> str:
    return uuid.uuid4().hex

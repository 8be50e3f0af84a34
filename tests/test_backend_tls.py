"""HTTPS on the API and the S3 endpoint with the backend's test CA; refused without it."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.backend_calls import call, complete, create_recording, put, upload_url


def test_ca_file_is_written_under_the_data_dir(tls_backend):
    assert tls_backend.base_url.startswith("https://127.0.0.1:")
    assert Path(tls_backend.ca_file) == tls_backend.data_dir / "ca.pem"
    assert "BEGIN CERTIFICATE" in Path(tls_backend.ca_file).read_text()


def test_upload_over_https_with_the_test_ca(tls_backend):
    dev = tls_backend.new_device()
    rec = create_recording(tls_backend, dev)
    grant = upload_url(tls_backend, dev, rec["id"], 5)
    assert grant["upload_url"].startswith("https://127.0.0.1:")
    assert put(tls_backend, grant, b"hello").status_code == 200
    assert complete(tls_backend, dev, rec["id"]).status_code == 200


def test_api_refused_without_the_ca(tls_backend):
    dev = tls_backend.new_device()
    with pytest.raises(requests.exceptions.SSLError):
        call(tls_backend, dev, "POST", "/devices/me/heartbeat", json={}, verify=True)
    # the server survives a failed handshake
    assert call(tls_backend, dev, "POST", "/devices/me/heartbeat", json={}).status_code == 200


def test_s3_put_refused_without_the_ca(tls_backend):
    dev = tls_backend.new_device()
    rec = create_recording(tls_backend, dev)
    grant = upload_url(tls_backend, dev, rec["id"], 5)
    with pytest.raises(requests.exceptions.SSLError):
        put(tls_backend, grant, b"hello", verify=True)
    assert put(tls_backend, grant, b"hello").status_code == 200


def test_plain_http_to_the_tls_port_gets_no_api_reply(tls_backend):
    plain = tls_backend.base_url.replace("https://", "http://")
    with pytest.raises(requests.ConnectionError):
        requests.post(plain + "/devices/me/heartbeat", json={}, timeout=5)

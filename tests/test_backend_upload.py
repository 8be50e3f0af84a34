"""Presigned PUTs to the real S3 server (SeaweedFS) behind the bench backend."""

from __future__ import annotations

import hashlib

import requests

from tests.backend_calls import create_recording, put, upload_file, upload_url


def _grant(backend, size, **body):
    dev = backend.new_device()
    rec = create_recording(backend, dev)
    return dev, rec, upload_url(backend, dev, rec["id"], size, **body)


def _s3_code(reply: requests.Response) -> str:
    return reply.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


def test_put_with_the_returned_headers_succeeds_with_md5_etag(backend):
    data = b"opus" * 10_000
    _dev, _rec, grant = _grant(backend, len(data))
    reply = put(backend, grant, data)
    assert reply.status_code == 200
    assert reply.headers["ETag"].strip('"') == hashlib.md5(data).hexdigest()


def test_put_with_another_content_type_is_refused(backend):
    _dev, _rec, grant = _grant(backend, 4)
    reply = put(backend, grant, b"abcd", headers={"Content-Type": "audio/wav"})
    assert reply.status_code == 403 and _s3_code(reply) == "SignatureDoesNotMatch"


def test_put_with_another_length_is_refused(backend):
    _dev, _rec, grant = _grant(backend, 4)
    reply = put(backend, grant, b"abcde", headers={"Content-Length": "5"})
    assert reply.status_code == 403 and _s3_code(reply) == "SignatureDoesNotMatch"


def test_put_with_a_chunked_body_is_refused_like_s3(backend):
    _dev, _rec, grant = _grant(backend, 4)
    headers = {"Content-Type": grant["headers"]["Content-Type"]}
    reply = requests.put(
        grant["upload_url"], data=iter([b"ab", b"cd"]), headers=headers, timeout=30
    )
    assert reply.status_code == 501 and _s3_code(reply) == "NotImplemented"


def test_put_with_a_tampered_signature_is_refused(backend):
    _dev, _rec, grant = _grant(backend, 4)
    grant = {
        **grant,
        "upload_url": grant["upload_url"].replace("X-Amz-Expires=", "X-Amz-Expires=1"),
    }
    assert put(backend, grant, b"abcd").status_code == 403


def test_full_upload_shows_in_state(backend):
    dev = backend.new_device()
    done = upload_file(backend, dev, b"x" * 2048)
    state = backend.state(dev.id)
    media = state["recordings"][done["id"]]["media"][0]
    assert media["object_size"] == 2048 and media["status"] == "uploaded"
    assert [r["status"] for r in state["s3_requests"]] == [200]

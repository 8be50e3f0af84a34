"""The PUT on the wire, against a scripted peer on 127.0.0.1 (real sockets, real HTTP).

The scripted peer plays what SeaweedFS will not do on request: a wrong ETag, a cut mid-body, an
arbitrary XML error. Runs against the real S3 server are in test_upload_backend.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from device.api_errors import (
    EtagMismatch,
    FileChanged,
    ReplyLost,
    S3Error,
    SignatureMismatch,
    TransferAborted,
    UrlExpired,
)
from device.gate import GateDecision
from device.transfer import put_file

SIG = "X-Amz-Signature=abcdef0123456789deadbeef"


def data_file(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "media.bin"
    path.write_bytes(os.urandom(size))
    return path


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324


def test_body_goes_with_content_length_exact_headers_and_no_chunking(tmp_path, scripted_peer):
    path = data_file(tmp_path, 700_000)
    scripted_peer.reply_with("200 OK", {"ETag": f'"{md5(path)}"'})
    seen_progress: list[tuple[int, int]] = []
    result = put_file(
        f"{scripted_peer.url}/bucket/key?{SIG}",
        {"Content-Type": "audio/ogg", "x-amz-meta-x": "1"},
        path,
        chunk_size=64 * 1024,
        progress=lambda done, total: seen_progress.append((done, total)),
    )
    seen = scripted_peer.seen[0]
    lines = seen.head.lower().split("\r\n")
    assert lines[0].startswith("put /bucket/key?")
    assert "content-length: 700000" in lines
    assert "content-type: audio/ogg" in lines and "x-amz-meta-x: 1" in lines
    assert not any(line.startswith("transfer-encoding") for line in lines)
    assert not any(line.startswith("expect") for line in lines)
    assert any(line.startswith("user-agent: recorder/") for line in lines)
    assert (seen.body_len, seen.body_md5) == (700_000, md5(path))
    assert (result.bytes_sent, result.md5_hex) == (700_000, md5(path))
    assert seen_progress[-1] == (700_000, 700_000)
    assert [d for d, _ in seen_progress] == sorted(d for d, _ in seen_progress)


def test_plain_etag_that_differs_from_the_md5_fails(tmp_path, scripted_peer):
    path = data_file(tmp_path, 100_000)
    scripted_peer.reply_with("200 OK", {"ETag": '"0123456789abcdef0123456789abcdef"'})
    with pytest.raises(EtagMismatch) as info:
        put_file(f"{scripted_peer.url}/b/k?{SIG}", {}, path, chunk_size=65536)
    assert "abcdef0123456789deadbeef" not in str(info.value) + repr(info.value)


def test_other_etag_forms_are_accepted(tmp_path, scripted_peer):
    path = data_file(tmp_path, 1000)
    scripted_peer.reply_with("200 OK", {"ETag": '"d41d8cd98f00b204e9800998ecf8427e-2"'})
    assert put_file(f"{scripted_peer.url}/b/k", {}, path).bytes_sent == 1000


def test_known_md5_is_checked_against_the_etag_without_hashing_again(tmp_path, scripted_peer):
    path = data_file(tmp_path, 300_000)
    scripted_peer.reply_with("200 OK", {"ETag": f'"{md5(path)}"'})
    result = put_file(f"{scripted_peer.url}/b/k", {}, path, chunk_size=65536, known_md5=md5(path))
    assert result.md5_hex == md5(path) and scripted_peer.seen[0].body_md5 == md5(path)
    # the storage received other bytes than the spool recorded (torn on disk or damaged in transit)
    recorded = "0" * 32
    scripted_peer.reply_with("200 OK", {"ETag": f'"{md5(path)}"'})
    with pytest.raises(EtagMismatch) as info:
        put_file(f"{scripted_peer.url}/b/k", {}, path, chunk_size=65536, known_md5=recorded)
    assert info.value.md5_hex == recorded


def test_known_md5_with_an_etag_that_is_not_an_md5_confirms_nothing(tmp_path, scripted_peer):
    path = data_file(tmp_path, 1000)
    scripted_peer.reply_with("200 OK", {"ETag": '"d41d8cd98f00b204e9800998ecf8427e-2"'})
    result = put_file(f"{scripted_peer.url}/b/k", {}, path, known_md5=md5(path))
    assert result.md5_hex == "" and result.bytes_sent == 1000


def test_connection_cut_mid_body_is_a_transport_error(tmp_path, scripted_peer):
    path = data_file(tmp_path, 3_000_000)
    scripted_peer.cut_after = 100_000
    with pytest.raises(ReplyLost) as info:
        put_file(f"{scripted_peer.url}/b/k?{SIG}", {}, path, chunk_size=65536)
    assert info.value.sent and "?" not in info.value.url.replace("?***", "")
    assert "deadbeef" not in str(info.value)


def test_gate_between_chunks_aborts_and_the_file_is_untouched(tmp_path, scripted_peer):
    path = data_file(tmp_path, 1_000_000)
    before = md5(path)
    asked: list[int] = []

    def gate(sent: int, size: int) -> GateDecision:
        asked.append(sent)
        return GateDecision(sent < 200_000, reason="cellular cap reached", retry_after_s=60)

    with pytest.raises(TransferAborted, match="cellular cap reached") as info:
        put_file(f"{scripted_peer.url}/b/k", {}, path, chunk_size=65536, should_continue=gate)
    assert info.value.bytes_sent == asked[-1] >= 200_000
    assert info.value.retry_after_s == 60
    assert md5(path) == before
    with pytest.raises(TransferAborted):
        put_file(
            f"{scripted_peer.url}/b/k", {}, path, chunk_size=65536, should_continue=lambda *_: False
        )


XML = "<?xml version='1.0'?><Error><Code>{}</Code><Message>{}</Message></Error>"


@pytest.mark.parametrize(
    ("status", "code", "message", "cls"),
    [
        ("403 Forbidden", "AccessDenied", "Request has expired", UrlExpired),
        ("403 Forbidden", "SignatureDoesNotMatch", "The request signature", SignatureMismatch),
        ("503 Slow Down", "SlowDown", "Reduce your request rate", S3Error),
        ("500 Internal Server Error", "InternalError", "oops", S3Error),
    ],
)
def test_s3_xml_errors_become_typed_errors(tmp_path, scripted_peer, status, code, message, cls):
    path = data_file(tmp_path, 5000)
    scripted_peer.reply_with(
        status,
        {"Content-Type": "application/xml", "Retry-After": "2"},
        XML.format(code, message).encode(),
    )
    with pytest.raises(cls) as info:
        put_file(f"{scripted_peer.url}/b/k?{SIG}", {}, path)
    err = info.value
    assert (err.status, err.code, err.message) == (int(status[:3]), code, message)
    assert err.retry_after_s == 2
    assert "deadbeef" not in str(err) + repr(err)


def test_html_error_page_is_a_clear_s3_error(tmp_path, scripted_peer):
    path = data_file(tmp_path, 10)
    scripted_peer.reply_with(
        "502 Bad Gateway", {"Content-Type": "text/html"}, b"<html>proxy</html>"
    )
    with pytest.raises(S3Error, match="502"):
        put_file(f"{scripted_peer.url}/b/k", {}, path)


def test_empty_file(tmp_path, scripted_peer):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    scripted_peer.reply_with("200 OK", {"ETag": '"d41d8cd98f00b204e9800998ecf8427e"'})
    assert put_file(f"{scripted_peer.url}/b/k", {}, path).bytes_sent == 0
    assert "content-length: 0" in scripted_peer.seen[0].head.lower()


def test_sockets_bind_to_the_source_address_the_policy_picked(tmp_path, scripted_peer):
    """The upload policy picks a link by local address; 127.0.0.2 stands in for a second link."""
    path = data_file(tmp_path, 1000)
    scripted_peer.reply_with("200 OK", {})
    put_file(f"{scripted_peer.url}/b/k", {}, path, source_address="127.0.0.2")
    assert scripted_peer.seen[0].client == "127.0.0.2"


def test_one_gib_put_stays_within_the_memory_bound(tmp_path, scripted_peer):
    """Peak RSS growth of a 1 GiB PUT with 256 KiB chunks, measured in its own process.

    The sink is the scripted peer (a fast discard): the bound is the client's; the same PUT to
    SeaweedFS through the bench backend takes ~50 s here and is measured by `make bench`.
    """
    path = tmp_path / "big.bin"
    with path.open("wb") as fh:
        fh.truncate(1 << 30)  # sparse: every byte is still read and sent
    scripted_peer.hash_body = False
    scripted_peer.reply_with("200 OK", {"ETag": '"cd573cfaace07e7949bc0c46028904ff"'})
    done = subprocess.run(
        [sys.executable, "-m", "tests.rss_put", f"{scripted_peer.url}/b/k?{SIG}", str(path), "256"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert figures["bytes_sent"] == scripted_peer.seen[0].body_len == 1 << 30
    assert figures["md5"] == "cd573cfaace07e7949bc0c46028904ff"
    assert figures["growth_kib"] <= 16 * 1024, figures


def test_a_file_that_shrinks_during_the_put_is_a_clear_error(tmp_path, scripted_peer):
    """Another writer truncates the file mid-PUT (the gate hook plays that writer here)."""
    path = data_file(tmp_path, 500_000)

    def truncate(sent: int, size: int) -> bool:
        os.truncate(path, 100_000)
        return True

    with pytest.raises(FileChanged, match="file changed during upload"):
        put_file(f"{scripted_peer.url}/b/k", {}, path, chunk_size=65536, should_continue=truncate)

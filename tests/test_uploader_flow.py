"""The uploader end to end against the bench backend and SeaweedFS: the happy paths and the rules."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from device.gate import GateDecision
from tests.fixtures.spool_rig import md5_hex

T0 = "2026-12-04T10:00:00.000Z"


def test_enqueue_flush_status_cli(backend, rig_factory):
    rig = rig_factory(backend, "cli")
    files = rig.make_files(3)
    for f in files:
        out = rig.recorder("enqueue", str(f), "--type", "audio", check=0)
        assert json.loads(out.stdout)["md5"] == md5_hex(f)
    status = json.loads(rig.recorder("status", "--json", check=0).stdout)
    assert status["pending"]["media"] == 3 and status["media"] == {"captured": 3}
    assert rig.recorder("flush", "--timeout", "30", check=0)
    status = json.loads(rig.recorder("status", "--json", check=0).stdout)
    assert status["media"] == {"uploaded": 3} and status["recordings"] == {"completed": 3}
    assert "parked: 0" in rig.recorder("status", check=0).stdout
    rig.check_delivered(files)


def test_upload_goes_through_the_spool(backend, rig_factory):
    """`recorder upload` enqueues and drives its own recording only; other entries wait."""
    rig = rig_factory(backend, "up")
    f, other = rig.make_files(2)
    [other_id] = rig.enqueue([other])
    out = rig.recorder("upload", str(f), "--type", "audio", "--captured-at", T0, check=0)
    reply = json.loads(out.stdout)
    assert reply["id"].startswith("rec_") and reply["status"] != "pending"
    assert reply["started_at"].startswith("2026-12-04T10:00:00")
    with rig.spool() as spool:
        assert spool.counts()["uploaded"] == 1 and spool.counts()["recordings_completed"] == 1
        assert spool.media(other_id)["state"] == "captured"
    assert rig.flush(timeout=20).done
    rig.check_delivered([f, other])


def test_a_captured_recording_waits_for_times_and_close(backend, rig_factory):
    """Capture's path: media without a valid time are not sent; completion waits for close."""
    rig = rig_factory(backend, "cap")
    files = rig.make_files(3)
    with rig.spool() as spool:
        rec = spool.open_recording(started_at=None, metadata={"source": "test"})
        ids = []
        for f in files:
            temp = spool.incoming_path(".opus")
            temp.write_bytes(f.read_bytes())
            ids.append(
                spool.add_media(
                    rec, temp, type="audio", content_type="audio/opus", captured_at=None
                )
            )
    result = rig.flush(timeout=0.5)
    assert result.timed_out and rig.my_recordings() == []  # nothing sent without times
    with rig.spool() as spool:
        spool.update_times(rec, started_at=T0, media={i: T0 for i in ids})
    assert rig.flush(timeout=10).done  # all uploaded; an open recording waits for capture
    [server_rec] = rig.my_recordings()
    assert server_rec["status"] == "pending" and len(server_rec["media"]) == 3
    with rig.spool() as spool:
        assert spool.counts()["uploaded"] == 3
        spool.close_recording(rec, ended_at="2026-12-04T10:03:00.000Z")
    assert rig.flush(timeout=10).done
    rig.check_delivered(files)


class Gate:
    """A gate that says no before files, or stops a PUT between chunks, as told."""

    def __init__(self) -> None:
        self.allow_files = True
        self.stop_after = None

    def before_file(self, size_bytes: int) -> GateDecision:
        if self.allow_files:
            return GateDecision(True)
        return GateDecision(False, "cellular cap reached", retry_after_s=0.05)

    def between_chunks(self, bytes_sent: int, size_bytes: int) -> GateDecision:
        if self.stop_after is not None and bytes_sent >= self.stop_after:
            self.stop_after = None
            return GateDecision(False, "link lost", retry_after_s=0.05)
        return GateDecision(True)


def test_gate_is_asked_before_files_and_between_chunks(backend, rig_factory):
    rig = rig_factory(backend, "gate")
    files = rig.make_files(2, size=300_000)
    rig.enqueue(files)
    gate = Gate()
    gate.allow_files = False
    assert rig.flush(timeout=0.5, gate=gate).timed_out
    status = json.loads(rig.recorder("status", "--json", check=0).stdout)
    assert status["gate"] == "cellular cap reached"
    assert rig.my_recordings() == []
    gate.allow_files = True
    gate.stop_after = 64 * 1024
    assert rig.flush(timeout=20, gate=gate).done
    assert gate.stop_after is None, "the PUT was stopped between chunks once"
    assert json.loads(rig.recorder("status", "--json", check=0).stdout)["gate"] is None
    rig.check_delivered(files)


def test_daemon_loop_uploads_what_capture_adds(backend, rig_factory):
    """`run(stop_event)` with a capture thread adding media through the same Spool object."""
    from device.cli import _wiring

    rig = rig_factory(backend, "run")
    files = rig.make_files(4, size=80_000)
    config = rig.config()
    stop = threading.Event()
    with _wiring.open_spool(config) as spool, _wiring.api_client(config) as api:
        worker = _wiring.uploader(config, spool, api)
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        try:
            rec = spool.open_recording(started_at=T0)
            for f in files:
                temp = spool.incoming_path(".opus")
                temp.write_bytes(f.read_bytes())
                spool.add_media(rec, temp, type="audio", content_type="audio/opus", captured_at=T0)
                worker.wake()
            spool.close_recording(rec, ended_at=T0)
            worker.wake()
            for _ in range(200):
                if spool.recording(rec)["state"] == "completed":
                    break
                stop.wait(0.05)
        finally:
            stop.set()
            thread.join(timeout=10)
    assert not thread.is_alive()
    rig.check_delivered(files)


def test_quota_evicts_uploaded_media_only_after_completion(backend, rig_factory):
    rig = rig_factory(backend, "quota", max_mb=1)
    first = rig.make_files(3, size=300_000, prefix="a")
    rig.enqueue(first)
    assert rig.flush(timeout=20).done
    second = rig.make_files(2, size=300_000, prefix="b")
    rig.enqueue(second)  # needs room: the oldest completed media go
    with rig.spool() as spool:
        counts = spool.counts()
        assert counts["evicted"] >= 1 and counts["captured"] == 2
        assert spool.used_bytes() <= spool.max_bytes
    assert rig.flush(timeout=20).done
    rig.check_delivered(first + second)


def test_torn_files_are_quarantined_not_uploaded(backend, rig_factory):
    rig = rig_factory(backend, "torn")
    files = rig.make_files(3)
    ids = rig.enqueue(files)
    with rig.spool() as spool:
        truncated = spool.media_path(spool.media(ids[0]))
        with open(truncated, "r+b") as fh:
            fh.truncate(1000)
        with open(spool.media_path(spool.media(ids[1])), "r+b") as fh:
            fh.seek(5000)
            fh.write(b"garbage")
    result = rig.flush(timeout=20)
    assert result.done and len(result.parked) == 2
    reasons = {p["id"]: p["reason"] for p in result.parked}
    assert reasons[ids[0]].startswith("torn file: 1000 bytes on disk")  # found at start-up
    assert reasons[ids[1]].startswith("torn file: MD5")  # found before asking for a URL
    proc = rig.recorder("flush", "--timeout", "5")
    assert proc.returncode == 1 and "torn file" in proc.stdout
    rig.check_delivered(files, quarantined=2)
    stored = {m.get("object_md5") for r in rig.my_recordings() for m in r["media"]}
    assert md5_hex(files[0]) not in stored and md5_hex(files[1]) not in stored
    with rig.spool() as spool:
        assert Path(spool.media_path(spool.media(ids[0]))).parent.name == "quarantine"


def test_flush_over_https_with_the_private_ca(tls_backend, rig_factory, monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # the admin session must use the test CA
        monkeypatch.delenv(name, raising=False)
    rig = rig_factory(tls_backend, "tls")
    files = rig.make_files(2)
    rig.enqueue(files)
    assert "ca_bundle" in rig.config_path.read_text()
    assert rig.recorder("flush", "--timeout", "30").returncode == 0
    rig.check_delivered(files)


class TearingGate:
    """Overwrites bytes near the end of the spooled file while its PUT is under way, keeping its
    size: what failing flash or a stray writer would do after the pre-upload MD5 check."""

    def __init__(self, path: Path) -> None:
        self.path, self.torn = path, False

    def before_file(self, size_bytes: int) -> GateDecision:
        return GateDecision(True)

    def between_chunks(self, bytes_sent: int, size_bytes: int) -> GateDecision:
        if not self.torn:
            with open(self.path, "r+b") as fh:
                fh.seek(size_bytes - 100)
                fh.write(b"x" * 50)
            self.torn = True
        return GateDecision(True)


def test_a_file_torn_during_its_put_is_quarantined_not_retried(backend, rig_factory):
    """The PUT is checked against the spooled MD5 through the ETag (the body is not hashed twice):
    the storage's MD5 differs, the file on disk differs too, so it is torn, not a transit fault."""
    rig = rig_factory(backend, "torn-put")
    [f] = rig.make_files(1, size=300_000)
    [mid] = rig.enqueue([f])
    with rig.spool() as spool:
        path = spool.media_path(spool.media(mid))
    gate = TearingGate(path)
    result = rig.flush(timeout=20, gate=gate)
    assert gate.torn and result.done
    assert [(p["id"], p["reason"][:37]) for p in result.parked] == [
        (mid, "torn file: MD5 changed after spooling")
    ]
    media = [m for r in rig.my_recordings() for m in r["media"]]
    assert len(media) == 1, "a torn file is not sent again under a new URL"

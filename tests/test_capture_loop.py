"""The capture loop end to end with the real spool, real encoders and the sim backends."""

from __future__ import annotations

import array
import io
import logging
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from device.capture import IDLE, STORAGE_FULL, AlreadyRecording, from_config
from device.clock import Clock, TimeBase, ns_from_iso
from device.codec.decode import decode_ogg_opus, decode_wav
from device.config import AudioConfig, CameraConfig, CaptureConfig, Config
from device.spool import Spool
from device.transfer import put_file

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def config(
    codec: str = "opus",
    speed: float = 20.0,
    rate: int = 16000,
    segment: float = 1.0,
    camera: str = "none",
    interval: float = 0.0,
    policy: str = "plausible",
) -> Config:
    return Config(
        audio=AudioConfig(
            backend="sim",
            sim_source="counter",
            sim_speed=speed,
            codec=codec,
            sample_rate_hz=rate,
            segment_seconds=segment,
            # The sim source runs `speed` times faster than real time: size the ring in audio
            # seconds so it still holds several wall-clock seconds of scheduling jitter.
            buffer_seconds=min(600.0, 6.0 * speed),
        ),
        camera=CameraConfig(backend=camera, interval_seconds=interval, width=160, height=96),
        capture=CaptureConfig(time_policy=policy),
    )


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    with Spool.open(tmp_path / "spool", max_mb=64) as sp:
        yield sp


def record(ctl, seconds: float, **meta: object) -> tuple[str, dict]:  # noqa: ANN001
    rid = ctl.start(dict(meta), seconds)
    assert ctl.wait(60), "capture did not finish"
    ctl.stop()
    assert ctl.last_error is None and ctl.state == IDLE
    return rid, ctl.result(rid)


def audio_rows(result: dict) -> list[dict]:
    return [m for m in result["media"] if m["type"] == "audio"]


def check_contiguous(result: dict, rate: int, total_samples: int) -> list[int]:
    """captured_at of each segment = recording start + its first sample / rate, no gap, no overlap."""
    rec = result["recording"]
    start = ns_from_iso(rec["started_at"])
    starts = [ns_from_iso(m["captured_at"]) for m in audio_rows(result)]
    assert starts[0] == start and starts == sorted(starts)
    return starts


def test_opus_segments_are_valid_contiguous_and_sum_to_the_duration(spool: Spool) -> None:
    rate, seconds = 16000, 3.3
    ctl = from_config(config("opus", rate=rate), spool)
    rid, result = record(ctl, seconds, purpose="test")
    rows = audio_rows(result)
    assert len(rows) == 4 and all(m["content_type"] == "audio/opus" for m in rows)
    assert all(ISO_Z.match(m["captured_at"]) for m in result["media"])
    rec = result["recording"]
    assert rec["id"] == rid and ISO_Z.match(rec["started_at"]) and ISO_Z.match(rec["ended_at"])
    assert rec["metadata"] == {"purpose": "test"}
    starts = check_contiguous(result, rate, int(seconds * rate))
    opusinfo = shutil.which("opusinfo")
    assert opusinfo, "opusinfo missing: install opus-tools (make setup)"
    lengths = []
    for m in rows:
        check = subprocess.run([opusinfo, m["file"]], capture_output=True, text=True, check=False)
        assert check.returncode == 0 and "WARNING" not in check.stdout, check.stdout
        lengths.append(len(decode_ogg_opus(Path(m["file"]), rate)) // 2)
    assert lengths == [16000, 16000, 16000, 4800]  # within one frame: here exact
    # each boundary: next start = this start + this length (ms precision of the stamps)
    for a, b, n in zip(starts, starts[1:], lengths, strict=False):
        assert abs(b - a - n * 1_000_000_000 // rate) < 1_000_000
    assert abs(ns_from_iso(rec["ended_at"]) - starts[0] - 3_300_000_000) < 1_000_000
    assert ctl.counters()["segments"] == 4 and ctl.counters()["overruns"] == 0


def test_wav_path_is_sample_exact_with_no_dropped_frames(spool: Spool) -> None:
    """The counter source, decoded from the files (outside the capture code): contiguous."""
    ctl = from_config(config("wav", rate=8000, segment=0.7), spool)
    _, result = record(ctl, 5.0)
    pcm = b""
    for m in audio_rows(result):
        data, rate = decode_wav(Path(m["file"]))
        assert rate == 8000 and m["content_type"] == "audio/wav"
        pcm += data
    values = array.array("h", pcm)
    assert len(values) == 40000
    assert all((b - a) % 65536 == 1 for a, b in zip(values, values[1:], strict=False))


def test_stills_are_jpegs_stamped_inside_the_recording(spool: Spool) -> None:
    ctl = from_config(config("wav", speed=4, camera="sim", interval=0.25), spool)
    _, result = record(ctl, 4.0)
    images = [m for m in result["media"] if m["type"] == "image"]
    assert len(images) >= 2 and ctl.counters()["images"] == len(images)
    start, end = (ns_from_iso(result["recording"][k]) for k in ("started_at", "ended_at"))
    for m in images:
        img = Image.open(io.BytesIO(Path(m["file"]).read_bytes()))
        img.load()
        assert img.format == "JPEG" and m["content_type"] == "image/jpeg"
        assert start <= ns_from_iso(m["captured_at"]) <= end
    stamps = [m["captured_at"] for m in images]
    assert stamps == sorted(stamps)


class SteppingWall:
    """Real time, stepped back one hour once the recording has started (a mocked NTP step)."""

    def __init__(self) -> None:
        self.offset = 0
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.calls == 5:
            self.offset = -3600 * 10**9
        return time.time_ns() + self.offset


def test_a_wall_clock_step_mid_recording_is_logged_and_moves_no_stamp(
    spool: Spool, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(wall_ns=SteppingWall())
    ctl = from_config(config("wav", speed=20), spool, clock=clock)
    with caplog.at_level(logging.WARNING):
        _, result = record(ctl, 4.0)
    assert "wall clock stepped by -3600" in caplog.text
    assert ctl.counters()["clock_steps"] == 1
    starts = [ns_from_iso(m["captured_at"]) for m in audio_rows(result)]
    assert [b - a for a, b in zip(starts, starts[1:], strict=False)] == [1_000_000_000] * 3
    assert ns_from_iso(result["recording"]["ended_at"]) - starts[0] == 4_000_000_000


def test_without_valid_time_media_are_held_then_stamped(spool: Spool) -> None:
    timebase = TimeBase(Clock(), "sync", synced=lambda: False)  # no NTP, no modem time yet
    ctl = from_config(config("wav", speed=20, policy="sync"), spool, timebase=timebase)
    rid, result = record(ctl, 2.0)
    assert result["recording"]["started_at"] is None
    rows = spool.media_of(rid)
    assert len(rows) == 2 and all(r["captured_at"] is None and r["boot_id"] for r in rows)
    assert all(r["monotonic_ns"] for r in rows)
    before = time.monotonic_ns()
    timebase.network_time(datetime.now(UTC))  # the modem reports network time
    ctl.poll()
    rec = spool.recording(rid)
    stamped = [r["captured_at"] for r in spool.media_of(rid)]
    assert rec["started_at"] == stamped[0] and rec["ended_at"] is not None
    assert ns_from_iso(stamped[1]) - ns_from_iso(stamped[0]) == 1_000_000_000
    # the anchor is the first sample's monotonic time mapped through the modem's time
    assert ns_from_iso(stamped[0]) <= time.time_ns() - (before - rows[0]["monotonic_ns"]) + 10**9


def test_a_later_process_stamps_media_held_by_an_earlier_one(spool: Spool) -> None:
    unsynced = TimeBase(Clock(), "sync", synced=lambda: False)
    rid, _ = record(
        from_config(config("opus", speed=20, policy="sync"), spool, timebase=unsynced), 1.5
    )
    other_rid, _ = record(
        from_config(config("wav", speed=20, policy="sync"), spool, timebase=unsynced), 1
    )
    other = spool.media_of(other_rid)[0]["id"]
    spool.update("media", other, boot_id="an-earlier-boot")
    later = from_config(config("wav", policy="plausible"), spool)  # a new process; time now valid
    later.poll()
    rec, rows = spool.recording(rid), spool.media_of(rid)
    assert [ns_from_iso(r["captured_at"]) - ns_from_iso(rec["started_at"]) for r in rows] == [
        0,
        10**9,
    ]
    assert (
        abs(ns_from_iso(rec["ended_at"]) - ns_from_iso(rec["started_at"]) - 1_500_000_000) < 10**6
    )
    assert spool.media(other)["captured_at"] is None  # another boot's monotonic time means nothing


def test_second_start_while_recording_is_refused(spool: Spool) -> None:
    ctl = from_config(config("wav", speed=1), spool)
    rid = ctl.start({}, 30)
    try:
        with pytest.raises(AlreadyRecording, match=rid):
            ctl.start({}, 5)
    finally:
        assert ctl.stop() == rid
    assert spool.recording(rid)["ended_at"] is not None


def stalled_server() -> tuple[socket.socket, int]:
    """A TCP server that accepts and never reads or answers: an upload stuck on the network."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    return srv, srv.getsockname()[1]


def test_capture_keeps_running_while_an_upload_is_blocked(spool: Spool, tmp_path: Path) -> None:
    srv, port = stalled_server()
    big = tmp_path / "big.bin"
    big.write_bytes(b"\1" * (8 << 20))
    rid0, mid0 = spool.enqueue(big, type="video", content_type="video/mp4")
    blocked = threading.Thread(
        target=_put_quietly, args=(port, spool.media_path(spool.media(mid0))), daemon=True
    )
    blocked.start()
    try:
        ctl = from_config(config("wav", speed=20), spool)
        _, result = record(ctl, 5.0)
        assert blocked.is_alive(), "the upload should still be stuck"
        assert len(audio_rows(result)) == 5 and ctl.counters()["overruns"] == 0
    finally:
        srv.close()
        blocked.join(timeout=30)


def _put_quietly(port: int, path: Path) -> None:
    try:
        put_file(
            f"http://127.0.0.1:{port}/bucket/key",
            {"Content-Type": "video/mp4"},
            path,
            timeout=(5, 20),
        )
    except Exception as exc:  # the server never answers; how it fails is not the point here
        logging.getLogger(__name__).info("stalled upload ended: %s", exc)


def test_storage_full_ends_the_segment_reports_and_resumes(tmp_path: Path) -> None:
    rate = 8000
    with Spool.open(tmp_path / "spool", max_mb=1, reserve_mb=0) as spool:
        filler = tmp_path / "earlier.bin"
        filler.write_bytes(b"\0" * 700_000)
        old_rid, old_mid = spool.enqueue(filler, type="video", content_type="video/mp4")
        ctl = from_config(config("wav", speed=10, rate=rate), spool)
        rid = ctl.start({}, 40)
        states = _watch_until_full(ctl)
        assert STORAGE_FULL in states
        assert spool.media(old_mid)["state"] == "captured"  # un-uploaded: never deleted
        _complete_upload(spool, old_rid, old_mid)  # the uploader finished: now evictable
        assert ctl.wait(60)
        ctl.stop()
        result = ctl.result(rid)
        counters = ctl.counters()
        assert spool.media(old_mid)["state"] == "evicted"  # evicted only once completed
    assert counters["storage_full_events"] >= 1 and counters["discarded_samples"] > 0
    assert result["held_files"] == []
    rows = audio_rows(result)
    start = ns_from_iso(result["recording"]["started_at"])
    for m in rows:  # every file's first counter value matches its place on the timeline
        values = array.array("h", decode_wav(Path(m["file"]))[0])
        position = (ns_from_iso(m["captured_at"]) - start) * rate // 1_000_000_000
        assert abs(((values[0] - position) + 32768) % 65536 - 32768) <= 8
    resumed = [ns_from_iso(m["captured_at"]) for m in rows]
    assert any(b - a > 1_000_000_000 for a, b in zip(resumed, resumed[1:], strict=False))  # the gap


def _watch_until_full(ctl) -> list[str]:  # noqa: ANN001
    states, deadline = [], time.monotonic() + 30
    while time.monotonic() < deadline and ctl.state != STORAGE_FULL:
        states.append(ctl.state)
        time.sleep(0.01)
    states.append(ctl.state)
    return states


def _complete_upload(spool: Spool, rid: str, mid: str) -> None:
    spool.transition("media", mid, "captured", "url_issued")
    spool.transition("media", mid, "url_issued", "uploaded")
    spool.transition("recording", rid, "local", "created")
    spool.transition("recording", rid, "created", "completed")


def test_config_replace_keeps_defaults() -> None:
    assert replace(config(), capture=CaptureConfig()).capture.time_policy == "sync"

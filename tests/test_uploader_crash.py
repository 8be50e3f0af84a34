"""The crash matrix and random kill -9: real processes killed with SIGKILL, real backend + SeaweedFS.

For every crash point: enqueue files, run `recorder` until it kills itself there, run `recorder
flush` again: every file ends as exactly one uploaded media of a completed recording with the right
bytes (MD5 of the stored object), no second stored copy, no recording with bytes left pending.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest

from device.spool.states import CRASH_POINTS
from tests.fixtures.spool_rig import md5_hex

FILES = 3
ENQUEUE_POINTS = (
    "spool.enqueue.copied",
    "spool.add.row",
    "spool.add.renamed",
    "spool.add.committed",
)


def fault(rig, endpoint: str, kind: str, calls=(1,), **params):
    return {
        "endpoint": endpoint,
        "kind": kind,
        "calls": list(calls),
        "device": rig.device.id,
        **params,
    }


def setup_plain(rig, files):
    rig.enqueue(files)


def setup_expired(rig, files):
    rig.enqueue(files)
    rig.backend.set_faults([fault(rig, "upload_url", "expired_url")])


def setup_lost_recording(rig, files):
    rig.enqueue(files[:1])
    with rig.spool() as spool:  # two media in one recording: the uploaded one must be reset too
        rec = spool.media(spool.query_one("SELECT id FROM media")["id"])["recording_id"]
    rig.enqueue(files[1:2], recording_id=rec)
    rig.enqueue(files[2:])
    rig.backend.set_faults([fault(rig, "complete", "status", status=404, code="not_found")])


def setup_torn(rig, files):
    rig.enqueue(files)
    with rig.spool() as spool:
        row = spool.query_one("SELECT * FROM media ORDER BY seq LIMIT 1")
        with open(spool.media_path(row), "r+b") as fh:  # same size, other bytes: only MD5 sees it
            fh.seek(100)
            fh.write(b"\x00torn\x00")


def setup_parked(rig, files):
    rig.enqueue(files)
    rig.backend.set_faults([fault(rig, "upload_url", "status", status=400, code="invalid_request")])


SCENARIOS = {point: setup_plain for point in CRASH_POINTS}
SCENARIOS.update(
    {
        "upload.url.dropped": setup_expired,
        "upload.create.lost": setup_lost_recording,
        "upload.media.reset": setup_lost_recording,
        "spool.media.quarantined": setup_torn,
        "upload.parked": setup_parked,
    }
)


def test_the_matrix_covers_every_crash_point():
    assert set(SCENARIOS) == set(CRASH_POINTS)


def finish(rig, files):
    """What the operator does after the crash, in a new process life (a fresh open: start-up
    repair runs): flush retrying parked entries, re-enqueue a file whose `enqueue` never returned
    and did not make it in, flush again. Returns the last flush's result."""
    rig.backend.clear_faults()
    rig.flush(timeout=40, retry_parked=True)
    with rig.spool() as spool:
        have = {row["md5"] for row in spool.query("SELECT md5 FROM media")}
    missing = [f for f in files if md5_hex(f) not in have]
    if missing:
        rig.enqueue(missing)
    return rig.flush(timeout=40)


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_at_every_point(backend, rig_factory, point):
    rig = rig_factory(backend, "crash", max_mb=64)
    files = rig.make_files(FILES)
    try:
        if point in ENQUEUE_POINTS:
            rig.enqueue(files[:1])
            crashed = rig.recorder("enqueue", str(files[1]), "--type", "audio", crash_at=point)
            rig.enqueue(files[2:])
        elif point == "spool.media.evicted":
            crashed = crash_at_eviction(rig, files)
        else:
            SCENARIOS[point](rig, files)
            crashed = rig.recorder("flush", "--timeout", "40", crash_at=point)
        assert crashed.returncode == -signal.SIGKILL, (point, crashed.returncode, crashed.stderr)
        result = finish(rig, files)
        torn = point == "spool.media.quarantined"
        assert result.done and len(result.parked) == int(torn), result
        figures = rig.check_delivered(files, quarantined=int(torn))
        print(f"crash at {point}: survived, {figures}")
    finally:
        backend.clear_faults()


def crash_at_eviction(rig, files):
    """Fill a 1 MiB quota with completed media, then enqueue one more: eviction is needed."""
    rig.config_path.write_text(rig.config_path.read_text().replace("max_mb = 64", "max_mb = 1"))
    big = rig.make_files(3, size=300_000, prefix="big")
    rig.enqueue(big)
    assert rig.flush(timeout=40).done
    files[:] = [*big, *files[:1]]
    return rig.recorder(
        "enqueue", str(files[-1]), "--type", "audio", crash_at="spool.media.evicted"
    )


@pytest.mark.slow
def test_random_kill_9_during_flush(backend, rig_factory):
    """30 flushes of 20 files, each killed (SIGKILL) at a random moment once it is uploading (its
    first log line of network work), so every kill lands in the worker, not in the interpreter's
    start-up; then a clean flush: nothing lost, nothing stored twice."""
    rig = rig_factory(backend, "kill", rate_limit_kbps=1600)  # a PUT takes ~0.5 s: kills land in it
    files = rig.make_files(20, size=100_000)
    rig.enqueue(files)
    rand = random.Random(4)
    kills, progress = 0, []
    for _ in range(30):
        proc = rig.popen("--log-level", "DEBUG", "flush", "--timeout", "30")
        working = threading.Event()
        reader = threading.Thread(target=_watch, args=(proc, working), daemon=True)
        reader.start()
        working.wait(timeout=15)
        time.sleep(rand.uniform(0.0, 1.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=10)
        reader.join(timeout=5)
        with rig.spool() as spool:
            progress.append(spool.counts().get("uploaded", 0))
    done = rig.recorder("flush", "--timeout", "60")  # the clean flush, as the operator runs it
    assert done.returncode == 0, (done.stdout, done.stderr)
    figures = rig.check_delivered(files)
    print(f"random kill -9: {kills} kills survived, uploaded after each: {progress}, {figures}")
    assert kills >= 25
    assert len(set(progress)) > 5, "the kills did not land at different stages of the flush"


def _watch(proc, working: threading.Event) -> None:
    for line in proc.stderr:
        if b"urllib3" in line:  # its first connection: network work has begun
            working.set()
    working.set()

"""The spool on real SQLite and real files: capture API, start-up repair both ways, quota, migrations."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from device.spool import InvalidEntry, SchemaTooNew, Spool, SpoolFull, UnknownEntry, schema
from device.spool.states import CRASH_POINTS, TRANSITIONS

T0 = "2026-12-04T10:00:00.000Z"
KIB = 1024


def write(path: Path, nbytes: int, fill: bytes = b"a") -> Path:
    path.write_bytes((fill * nbytes)[:nbytes])
    return path


@pytest.fixture
def spool(tmp_path):
    sp = Spool.open(tmp_path / "spool", max_mb=4, reserve_mb=1)
    yield sp
    sp.close()


def add(sp: Spool, rec: str, nbytes: int, fill: bytes = b"a") -> str:
    temp = write(sp.incoming_path(".opus"), nbytes, fill)
    return sp.add_media(rec, temp, type="audio", content_type="audio/opus", captured_at=T0)


def test_layout_modes_and_pragmas(spool):
    for sub in ("", "media", "incoming", "quarantine"):
        assert ((spool.directory / sub).stat().st_mode & 0o777) == 0o700
    assert spool.query_one("PRAGMA journal_mode")["journal_mode"] == "wal"
    assert spool.query_one("PRAGMA synchronous")["synchronous"] == 2  # FULL
    assert schema.version(spool._conn) == schema.VERSION


def test_capture_api_round_trip(spool):
    rec = spool.open_recording(started_at=None, metadata={"k": 1}, name="n")
    temp = write(spool.incoming_path(".opus"), 3000, b"xyz")
    media_id = spool.add_media(rec, temp, type="audio", content_type="audio/opus", captured_at=None)
    assert not temp.exists()
    row = spool.media(media_id)
    assert row["state"] == "captured" and row["size"] == 3000
    assert row["md5"] == hashlib.md5(b"xyz" * 1000).hexdigest()
    assert spool.media_path(row).read_bytes() == b"xyz" * 1000
    spool.update_times(rec, started_at=T0, ended_at=T0, media={media_id: T0})
    spool.close_recording(rec, ended_at="2026-12-04T10:01:00.000Z")
    got = spool.recording(rec)
    assert got["closed"] == 1 and got["started_at"] == T0 and got["metadata"] == {"k": 1}
    assert spool.media(media_id)["captured_at"] == T0
    assert spool.counts()["captured"] == 1


def test_enqueue_copies_and_never_alters_the_original(spool, tmp_path):
    original = write(tmp_path / "clip.jpg", 5000, b"j")
    before = (original.read_bytes(), original.stat().st_mtime_ns)
    rec, media_id = spool.enqueue(original, type="image")
    assert (original.read_bytes(), original.stat().st_mtime_ns) == before
    row = spool.media(media_id)
    assert row["content_type"] == "image/jpeg" and row["captured_at"]
    assert spool.recording(rec)["closed"] == 1
    assert spool.recording(rec)["started_at"] == row["captured_at"]


def test_bad_input_names_what_was_wrong(spool, tmp_path):
    with pytest.raises(InvalidEntry, match="media type 'sound'"):
        spool.enqueue(write(tmp_path / "a", 1), type="sound")
    with pytest.raises(InvalidEntry, match="image/gif"):
        spool.enqueue(write(tmp_path / "a", 1), type="image", content_type="image/gif")
    with pytest.raises(InvalidEntry, match="captured_at"):
        spool.enqueue(write(tmp_path / "a", 1), type="audio", captured_at="yesterday")
    with pytest.raises(InvalidEntry, match="not a regular file"):
        spool.enqueue(tmp_path / "missing", type="audio")
    with pytest.raises(UnknownEntry, match="lrec_nope"):
        spool.close_recording("lrec_nope", ended_at=None)
    assert spool.counts().get("captured", 0) == 0
    assert list(spool.incoming_dir.iterdir()) == []


def test_two_threads_write_at_once(spool):
    rec = spool.open_recording(started_at=T0)
    errors: list[BaseException] = []

    def writer(fill: bytes) -> None:
        try:
            for _ in range(20):
                add(spool, rec, 100, fill)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(bytes([65 + i]),)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and spool.counts()["captured"] == 80


CRASH_SCRIPT = """
import sys
from pathlib import Path
from device.spool import Spool
sp = Spool.open(Path(sys.argv[1]), max_mb=4, reserve_mb=1)
rec = sp.open_recording(started_at="2026-12-04T10:00:00.000Z")
temp = sp.incoming_path(".opus")
temp.write_bytes(b"q" * 4096)
sp.add_media(rec, temp, type="audio", content_type="audio/opus", captured_at=None)
"""


@pytest.mark.parametrize("point", ["spool.add.row", "spool.add.renamed", "spool.add.committed"])
def test_crash_inside_add_media_is_repaired(tmp_path, point):
    """A real SIGKILL at each point of add_media; the next open finishes the file and its row."""
    directory = tmp_path / "spool"
    env = {**os.environ, "RECORDER_CRASH_AT": point}
    proc = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, str(directory)], env=env)
    assert proc.returncode == -9
    with Spool.open(directory, max_mb=4, reserve_mb=1) as sp:
        rows = sp.query("SELECT * FROM media")
        assert [r["state"] for r in rows] == ["captured"]
        assert sp.media_path(rows[0]).read_bytes() == b"q" * 4096
        assert list(sp.incoming_dir.iterdir()) == [] and list(sp.quarantine_dir.iterdir()) == []


def test_repair_drops_a_row_whose_file_never_arrived(spool, tmp_path):
    rec = spool.open_recording(started_at=T0)
    media_id = add(spool, rec, 10)
    with spool.tx() as conn:
        conn.execute(
            "UPDATE media SET state='adding', temp_path='/nonexistent' WHERE id=?", (media_id,)
        )
    spool.media_path(spool.media(media_id)).unlink()
    spool.close()
    with Spool.open(spool.directory, max_mb=4, reserve_mb=1) as sp:
        assert sp.repair_report.dropped == [media_id]
        assert sp.query("SELECT * FROM media") == []


def test_repair_quarantines_stray_missing_and_torn_files(spool):
    rec = spool.open_recording(started_at=T0)
    torn = add(spool, rec, 1000)
    missing = add(spool, rec, 1000)
    good = add(spool, rec, 1000)
    with open(spool.media_path(spool.media(torn)), "r+b") as fh:
        fh.truncate(300)
    spool.media_path(spool.media(missing)).unlink()
    write(spool.media_dir / "lmed_stray.opus", 10)
    write(spool.incoming_dir / "half-written.opus", 10)
    spool.close()
    with Spool.open(spool.directory, max_mb=4, reserve_mb=1) as sp:
        report = sp.repair_report
        assert "torn file: 300 bytes on disk, 1000 recorded" in report.quarantined[torn]
        assert report.quarantined[missing] == "file missing at start-up"
        assert sp.media(torn)["state"] == "quarantined"
        assert sp.media(torn)["parked_reason"].startswith("torn file")
        assert sp.media_path(sp.media(torn)).parent == sp.quarantine_dir
        assert sp.media(good)["state"] == "captured"
        assert len(report.stray_files) == 2
        assert sorted(p.name for p in sp.quarantine_dir.iterdir()) == sorted(
            [Path(sp.media(torn)["path"]).name, "stray-lmed_stray.opus", "stray-half-written.opus"]
        )


def test_a_second_opener_does_not_repair(spool):
    """`recorder status` beside the daemon must not move a file a writer is still filling."""
    half = write(spool.incoming_path(".opus"), 10)
    with Spool.open(spool.directory, max_mb=4, reserve_mb=1) as other:
        assert other.owner is None and other.repair_report is None
    assert half.exists()


def complete_all(sp: Spool) -> None:
    with sp.tx() as conn:
        conn.execute("UPDATE media SET state='uploaded'")
        conn.execute("UPDATE recordings SET state='completed'")


def test_quota_evicts_completed_media_oldest_first(spool):
    rec = spool.open_recording(started_at=T0)
    old = [add(spool, rec, 1024 * KIB) for _ in range(3)]
    complete_all(spool)
    rec2 = spool.open_recording(started_at=T0)
    new = add(spool, rec2, 1024 * KIB)  # 4 MiB used: the quota is full
    newer = add(spool, rec2, 1536 * KIB)  # needs two of the oldest to go
    states = {m: spool.media(m)["state"] for m in (*old, new, newer)}
    assert [states[m] for m in old] == ["evicted", "evicted", "uploaded"]
    assert states[new] == states[newer] == "captured"
    assert not spool.media_path(spool.media(old[0])).exists()
    assert spool.used_bytes() <= spool.max_bytes


def test_spool_full_never_evicts_unuploaded_data(spool):
    rec = spool.open_recording(started_at=T0)
    kept = [add(spool, rec, 1024 * KIB) for _ in range(4)]
    assert spool.space_available(1) is False
    temp = write(spool.incoming_path(".opus"), 10)
    with pytest.raises(SpoolFull, match="full") as info:
        spool.add_media(rec, temp, type="audio", content_type="audio/opus", captured_at=T0)
    assert isinstance(info.value, OSError) and info.value.needed == 10
    assert temp.exists(), "the caller's file is left for it to decide"
    assert all(spool.media_path(spool.media(m)).exists() for m in kept)


def test_sqlite_reserve_is_held_on_disk(spool):
    assert spool.reserve_file.stat().st_size == spool.reserve_bytes


def test_migration_from_version_1_keeps_rows(tmp_path):
    directory = tmp_path / "old"
    directory.mkdir()
    conn = sqlite3.connect(directory / "spool.db", isolation_level=None)
    schema.migrate(conn, "old", target=1)
    conn.execute(
        "INSERT INTO recordings(id, started_at, added_at, closed) VALUES ('lrec_1', ?, ?, 1)",
        (T0, T0),
    )
    conn.close()
    with Spool.open(directory, max_mb=4, reserve_mb=0) as sp:
        assert schema.version(sp._conn) == schema.VERSION
        assert sp.recording("lrec_1")["closed"] == 1
        assert sp.counts()["orphans"] == 0  # the table of version 2 exists


def test_a_newer_schema_is_refused(tmp_path):
    directory = tmp_path / "new"
    directory.mkdir()
    conn = sqlite3.connect(directory / "spool.db")
    conn.execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNew, match="newer"):
        Spool.open(directory, max_mb=4)


def test_every_transition_has_its_crash_point():
    assert set(TRANSITIONS.values()) <= set(CRASH_POINTS)
    assert len(CRASH_POINTS) == len(set(CRASH_POINTS))

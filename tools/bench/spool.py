"""Spool benchmark: a spool of 10,000 pending media; `status` time and per-file scheduling cost.

Rows are inserted in bulk (small real files, one transaction) so the figure is about reading the
queue, not about filling it; `add_media` (three fsyncs per file) is timed apart on a few hundred.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from device import upload_queue, upload_status
from device.spool import Spool

T0 = "2026-12-04T10:00:00.000Z"


def fill(spool: Spool, n: int, per_recording: int = 10) -> None:
    """n media in n / per_recording closed recordings, all pending (captured)."""
    body = b"x" * 1024
    with spool.tx() as conn:
        for r in range(0, n, per_recording):
            rec = f"lrec_{uuid.uuid4().hex}"
            conn.execute(
                "INSERT INTO recordings(id, started_at, ended_at, closed, added_at) VALUES (?,?,?,1,?)",
                (rec, T0, T0, T0),
            )
            for _ in range(min(per_recording, n - r)):
                mid = f"lmed_{uuid.uuid4().hex}"
                path = spool.media_dir / f"{mid}.opus"
                path.write_bytes(body)
                conn.execute(
                    "INSERT INTO media(id, recording_id, path, type, content_type, size, md5, "
                    "captured_at, state, added_at) VALUES (?,?,?,?,?,?,?,?,'captured',?)",
                    (
                        mid,
                        rec,
                        f"media/{path.name}",
                        "audio",
                        "audio/opus",
                        len(body),
                        "0" * 32,
                        T0,
                        T0,
                    ),
                )


def time_it(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def run(args: argparse.Namespace) -> None:
    n = 1000 if getattr(args, "quick", False) else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        spool = Spool.open(Path(tmp) / "spool", max_mb=100_000, reserve_mb=0)
        start = time.perf_counter()
        fill(spool, n)
        print(f"filled {n} pending media in {time.perf_counter() - start:.2f} s (bulk)")
        spool.close()
        start = time.perf_counter()
        spool = Spool.open(Path(tmp) / "spool", max_mb=100_000, reserve_mb=0)
        print(
            f"open with start-up repair over {n} files: {(time.perf_counter() - start) * 1000:.1f} ms"
        )
        status = time_it(lambda: upload_status.report(spool), 20)
        print(
            f"status ({n} pending): median {statistics.median(status) * 1000:.2f} ms, "
            f"max {max(status) * 1000:.2f} ms"
        )
        picks = _scheduling(spool, min(n, 2000))
        print(
            f"scheduling (next_work, {len(picks)} files while the queue drains): "
            f"median {statistics.median(picks) * 1e6:.0f} us, p99 "
            f"{sorted(picks)[int(len(picks) * 0.99) - 1] * 1e6:.0f} us per file"
        )
        adds = _adds(spool, 200)
        print(
            f"add_media (fsync file + dir + 3 commits): median {statistics.median(adds) * 1000:.2f} ms"
        )
        spool.close()


def _scheduling(spool: Spool, count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        work = upload_queue.next_work(spool, time.time())
        out.append(time.perf_counter() - start)
        with spool.tx() as conn:  # the file is done: the next pick must find the next one
            conn.execute("UPDATE media SET state = 'uploaded' WHERE id = ?", (work.media["id"],))
    return out


def _adds(spool: Spool, count: int) -> list[float]:
    rec = spool.open_recording(started_at=T0)
    out = []
    for _ in range(count):
        temp = spool.incoming_path(".opus")
        temp.write_bytes(b"y" * 4096)
        start = time.perf_counter()
        spool.add_media(rec, temp, type="audio", content_type="audio/opus", captured_at=T0)
        out.append(time.perf_counter() - start)
    return out

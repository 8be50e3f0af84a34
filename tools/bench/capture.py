"""Capture benchmarks: Opus encoding speed, and dropped audio frames under a full-speed upload.

1. Opus (libopus via ctypes, our Ogg writer), 16 kHz mono 32 kbit/s: real-time factor (seconds of
   audio encoded per second) and CPU share (CPU seconds per audio second, % of one core).
2. Dropped frames: the sim `counter` source at real time through the whole capture loop into a real
   spool, for N minutes (10; 1 with --quick) per codec, while the same process, pinned to one core,
   streams a large file with the upload path's `put_file` to a local HTTP sink in a loop. Drops are
   counted outside the capture code: the WAV segments are decoded and the counter must be
   contiguous; the Opus segments must decode to exactly the captured duration.
"""

from __future__ import annotations

import argparse
import array
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from device.capture import from_config
from device.clock import ns_from_iso
from device.codec import open_segment
from device.codec.decode import decode_ogg_opus, decode_wav
from device.config import AudioConfig, CameraConfig, CaptureConfig, Config
from device.errors import RecorderError
from device.spool import Spool
from device.transfer import put_file
from hal.audio.sim import SimMicrophone, counter_pcm

RATE = 16000
SINK = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        left = int(self.headers["Content-Length"])
        while left:
            left -= len(self.rfile.read(min(left, 1 << 16)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def run(args: argparse.Namespace) -> None:
    quick = getattr(args, "quick", False)
    bench_opus(30 if quick else 300)
    minutes = 1.0 if quick else 10.0
    for codec in ("wav", "opus"):
        bench_drops(codec, minutes)


def _speech_like(seconds: int) -> bytes:
    mic = SimMicrophone(RATE, source="noise")
    mic._open_source()
    return b"".join(mic._read_source(RATE * 2) for _ in range(seconds))


def bench_opus(seconds: int) -> None:
    pcm = _speech_like(seconds)
    with tempfile.TemporaryDirectory() as tmp:
        writer = open_segment("opus", Path(tmp) / "b.opus", RATE, 32)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(0, len(pcm), 3200):
            writer.write(pcm[i : i + 3200])
        writer.close()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        size = (Path(tmp) / "b.opus").stat().st_size
    print(
        f"opus encode 16 kHz mono 32 kbit/s, {seconds} s of noise: {wall:.2f} s wall, "
        f"real-time factor {seconds / wall:.0f}x by wall time ({seconds / cpu:.0f}x by CPU time), "
        f"CPU share {100 * cpu / seconds:.2f} % of one core, "
        f"{size * 8 / seconds / 1000:.1f} kbit/s in the file"
    )


def _start_sink() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    return proc, int(proc.stdout.readline())


def _upload_loop(port: int, path: Path, stop: threading.Event, sent: list[int]) -> None:
    """PUT the file again and again until stopped (the last PUT is aborted mid-body)."""
    while not stop.is_set():
        try:
            put_file(
                f"http://127.0.0.1:{port}/bucket/obj",
                {"Content-Type": "video/mp4"},
                path,
                timeout=(5, 60),
                should_continue=lambda done, size: not stop.is_set(),
            )
        except RecorderError as exc:
            if not stop.is_set():
                print(f"upload workload failed: {exc}", file=sys.stderr)
                return
        else:
            sent[0] += path.stat().st_size


def bench_drops(codec: str, minutes: float) -> None:
    core = min(os.sched_getaffinity(0))
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    sink, port = _start_sink()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            _measure(codec, minutes, core, port, Path(tmp))
    finally:
        sink.terminate()
        sink.wait(10)
        os.sched_setaffinity(0, old)


def _measure(codec: str, minutes: float, core: int, port: int, tmp: Path) -> None:
    big = tmp / "upload.bin"
    big.write_bytes(os.urandom(1 << 20) * 64)
    stop, sent = threading.Event(), [0]
    uploader = threading.Thread(target=_upload_loop, args=(port, big, stop, sent), daemon=True)
    config = Config(
        audio=AudioConfig(
            backend="sim",
            sim_source="counter",
            sim_speed=1.0,
            codec=codec,
            sample_rate_hz=RATE,
            segment_seconds=60.0,
        ),
        camera=CameraConfig(backend="none"),
        capture=CaptureConfig(time_policy="plausible"),
    )
    with Spool.open(tmp / "spool", max_mb=4096) as spool:
        ctl = from_config(config, spool)
        uploader.start()
        t0, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        rid = ctl.start({}, minutes * 60)
        ctl.wait()
        ctl.stop()
        wall = time.perf_counter() - t0
        stop.set()
        uploader.join(60)
        counters = ctl.counters()
        dropped, total = _count_drops(codec, ctl.result(rid)["media"])
    print(
        f"{codec}: {minutes:g} min captured on core {core} while uploading "
        f"{sent[0] / wall / 1e6:.0f} MB/s from the same process: {total / RATE:.1f} s decoded, "
        f"dropped frames (20 ms) counted from the files: {dropped}; capture's own counters: "
        f"overruns {counters['overruns']}, silence_filled {counters['silence_filled']}, "
        f"segments {counters['segments']}; process CPU "
        f"{_cpu(cpu0) / wall * 100:.0f} % of the core"
    )


def _cpu(before: resource.struct_rusage) -> float:
    now = resource.getrusage(resource.RUSAGE_SELF)
    return now.ru_utime + now.ru_stime - before.ru_utime - before.ru_stime


def _count_drops(codec: str, media: list[dict]) -> tuple[int, int]:
    """(dropped 20 ms frames, samples decoded), from the files alone."""
    media = sorted(
        (m for m in media if m["type"] == "audio"), key=lambda m: ns_from_iso(m["captured_at"])
    )
    if codec == "opus":
        total = sum(len(decode_ogg_opus(Path(m["file"]), RATE)) // 2 for m in media)
        expected = sum(round(float(60 * RATE)) for _ in media[:-1])
        last = len(decode_ogg_opus(Path(media[-1]["file"]), RATE)) // 2
        return (expected + last - total) // 320, total
    pcm = b"".join(decode_wav(Path(m["file"]))[0] for m in media)
    values = array.array("h", pcm)
    reference = array.array("h", counter_pcm(0, len(values)))
    bad = sum(1 for a, b in zip(values, reference, strict=True) if a != b)
    return -(-bad // 320), len(values)

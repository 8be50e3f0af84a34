"""Interim one-command demo (`make run`): the bench backend, one device, one generated WAV file
uploaded with plain requests (create recording, upload URL, PUT, complete), then what the cloud
holds. The agent will replace this demo."""

from __future__ import annotations

import json
import math
import struct
import sys
import tempfile
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from device.clock import utc_iso
from tools.bench_backend import launch


def make_wav(path: Path, seconds: float = 3.0, rate: int = 16000) -> None:
    """A 440 Hz tone, 16-bit mono."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)


def upload(base: str, token: str, path: Path) -> dict:
    auth = {"Authorization": f"Bearer {token}"}
    ended = datetime.now(UTC)
    body = {"name": path.name, "started_at": utc_iso(ended - timedelta(seconds=3)),
            "ended_at": utc_iso(ended)}  # fmt: skip
    rec = requests.post(f"{base}/recordings", json=body, headers=auth, timeout=30)
    rec.raise_for_status()
    rec_id = rec.json()["id"]
    ask = {"type": "audio", "content_type": "audio/wav", "file_size_bytes": path.stat().st_size,
           "captured_at": body["started_at"]}  # fmt: skip
    grant = requests.post(f"{base}/recordings/{rec_id}/upload-url", json=ask, headers=auth,
                          timeout=30)  # fmt: skip
    grant.raise_for_status()
    with open(path, "rb") as data:
        put = requests.put(grant.json()["upload_url"], data=data, headers=grant.json()["headers"],
                           timeout=60)  # fmt: skip
    put.raise_for_status()
    print(f"PUT {path.name}: {put.status_code}, ETag {put.headers.get('ETag')}")
    done = requests.post(f"{base}/recordings/{rec_id}/upload-complete", headers=auth, timeout=30)
    done.raise_for_status()
    return done.json()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="recorder-demo-") as tmp:
        work = Path(tmp)
        print("starting the bench backend (SeaweedFS S3 behind it)...", flush=True)
        running = launch.start(work / "backend")
        try:
            base = running.base_url
            root = base.rsplit("/v1", 1)[0]
            print(f"API {base}, S3 {running.details['s3_endpoint']}")
            device = requests.post(f"{root}/_admin/devices", json={"project": "demo"}, timeout=30)
            device.raise_for_status()
            print(f"device {device.json()['id']} provisioned")
            sample = work / "tone.wav"
            make_wav(sample)
            completed = upload(base, device.json()["device_token"], sample)
            print(f"recording {completed['id']}: {completed['status']}")
            state = requests.get(f"{root}/_admin/state", timeout=30).json()
            print("the cloud holds:")
            for rec in state["recordings"].values():
                for media in rec["media"]:
                    print(json.dumps({k: media[k] for k in
                          ("id", "mime_type", "status", "object_size", "object_md5")}))  # fmt: skip
        finally:
            running.stop()
            print("backend stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`recorder record` as a user runs it: a config file, a real spool, JSON on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Sections = dict[str, dict[str, object]]


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "device.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sections(tmp_path: Path, **audio: object) -> Sections:
    return {
        "spool": {"dir": str(tmp_path / "spool"), "max_mb": 32},
        "audio": {"backend": "sim", "sim_source": "tone", "sim_speed": 20, "segment_seconds": 1.0}
        | audio,
        "camera": {"backend": "sim", "interval_seconds": 0.5, "width": 160, "height": 96},
        "capture": {"time_policy": "plausible"},
    }


def test_record_prints_the_recording_and_its_media(
    tmp_path: Path, config_file: Callable[[Sections], Path]
) -> None:
    done = run(config_file(sections(tmp_path)), "record", "--duration", "2.5")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["recording"]["started_at"].endswith("Z") and out["recording"]["ended_at"]
    audio = [m for m in out["media"] if m["type"] == "audio"]
    assert [m["content_type"] for m in audio] == ["audio/opus"] * 3
    assert all(Path(m["file"]).is_file() for m in out["media"])
    assert any(m["type"] == "image" for m in out["media"])
    assert out["counters"]["segments"] == 3


def test_record_alsa_null_through_the_cli(
    tmp_path: Path, config_file: Callable[[Sections], Path]
) -> None:
    cfg = sections(tmp_path)
    cfg["audio"] = {"backend": "alsa", "device": "null", "codec": "wav", "segment_seconds": 0.5}
    cfg["camera"] = {"backend": "none"}
    done = run(config_file(cfg), "record", "--duration", "1")
    assert done.returncode == 0, done.stderr
    audio = json.loads(done.stdout)["media"]
    assert [m["content_type"] for m in audio] == ["audio/wav", "audio/wav"]
    assert Path(audio[0]["file"]).stat().st_size == 44 + 8000 * 2  # 0.5 s of 16 kHz S16 silence


def test_record_bad_wav_source_is_a_clear_error(
    tmp_path: Path, config_file: Callable[[Sections], Path]
) -> None:
    done = run(
        config_file(sections(tmp_path, sim_source="wav", sim_file=str(tmp_path / "no.wav"))),
        "record",
        "--duration",
        "1",
    )
    assert done.returncode == 2 and "no.wav" in done.stderr and "cannot read WAV" in done.stderr
    assert "Traceback" not in done.stderr


def test_record_without_the_camera_records_audio_only(
    tmp_path: Path, config_file: Callable[[Sections], Path]
) -> None:
    cfg = sections(tmp_path)
    cfg["camera"] = {"backend": "v4l2", "device": str(tmp_path / "video7"), "interval_seconds": 1}
    done = run(config_file(cfg), "record", "--duration", "1")
    assert done.returncode == 0, done.stderr
    assert "camera unavailable" in done.stderr and "video7" in done.stderr
    out = json.loads(done.stdout)
    assert [m["type"] for m in out["media"]] == ["audio"] and out["counters"]["camera_errors"] == 1


def test_record_upload_captures_then_completes_it_in_the_cloud(
    tmp_path: Path, config_file: Callable[[Sections], Path], backend
) -> None:
    """`record --upload` against the bench backend and SeaweedFS: every captured file arrives."""
    device = backend.new_device()
    api = {
        "base_url": backend.base_url,
        "token_file": str(tmp_path / "token.sealed"),
        "key_file": str(tmp_path / "keys" / "vault.key"),
    }
    cfg = config_file(sections(tmp_path) | {"api": api})
    provision = subprocess.run(
        [sys.executable, "-m", "device.cli", "--config", str(cfg), "provision",
         "--device-id", device.id],
        input=device.token, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert provision.returncode == 0, provision.stderr
    done = run(cfg, "record", "--duration", "2", "--upload")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    cloud = result["upload"]
    assert cloud["id"].startswith("rec_") and cloud["status"] != "pending"
    local_md5 = sorted(m["md5"] for m in result["media"])
    rec = backend.state(device.id)["recordings"][cloud["id"]]
    assert sorted(m["object_md5"] for m in rec["media"]) == local_md5
    assert {m["type"] for m in rec["media"]} == {"audio", "image"}

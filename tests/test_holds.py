"""upload_immediately=false: the hold lives in the real spool and is lifted at the recording's end."""

from __future__ import annotations

from device.holds import HOLD_REASON, UploadHolds
from device.spool import Spool


def test_hold_and_release(tmp_path):
    woken = []
    with Spool.open(tmp_path / "spool", max_mb=16, reserve_mb=0) as spool:
        rid = spool.open_recording(started_at="2026-12-04T12:00:00.000Z")
        holds = UploadHolds(spool, wake=lambda: woken.append(1))
        holds.hold(rid)
        assert spool.recording(rid)["parked_reason"] == HOLD_REASON
        holds.release(rid)
        assert spool.recording(rid)["parked_reason"] is None
        assert woken == [1]


def test_release_all_leaves_other_parked_reasons(tmp_path):
    with Spool.open(tmp_path / "spool", max_mb=16, reserve_mb=0) as spool:
        a = spool.open_recording(started_at="2026-12-04T12:00:00.000Z")
        b = spool.open_recording(started_at="2026-12-04T12:00:00.000Z")
        UploadHolds(spool).hold(a)
        spool.update("recording", b, parked_reason="invalid_request: bad metadata")
        assert UploadHolds(spool).release_all() == 1
        assert spool.recording(a)["parked_reason"] is None
        assert spool.recording(b)["parked_reason"] == "invalid_request: bad metadata"

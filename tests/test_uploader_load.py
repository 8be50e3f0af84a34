"""Load: eight devices (own tokens and spools) flush at once against the per-project limit on upload
URLs. The window is shrunk (16 URLs per 3 s instead of 30 per minute) on an own project of the shared
backend so the test stays short; every file must arrive and each device must wait for the reset
instead of hammering (its 429s are counted)."""

from __future__ import annotations

import uuid

DEVICES = 8
FILES_EACH = 6
WINDOW_S = 3
URLS_PER_WINDOW = 16


def test_eight_devices_share_the_upload_url_limit(backend, rig_factory):
    project = f"load-{uuid.uuid4().hex[:8]}"
    backend.admin(
        "POST",
        "/_admin/rate-limits",
        json={"project": project, "window_seconds": WINDOW_S, "upload_urls": URLS_PER_WINDOW},
    )
    rigs = [
        rig_factory(backend, f"load{i}", project=project, retry_after_cap_s=30.0)
        for i in range(DEVICES)
    ]
    files = {}
    for rig in rigs:
        files[rig.device.id] = rig.make_files(FILES_EACH, size=40_000)
        rig.enqueue(files[rig.device.id])
    procs = [rig.popen("flush", "--timeout", "90") for rig in rigs]
    try:
        codes = [p.wait(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert codes == [0] * DEVICES, [p.stderr.read() for p in procs]
    state = backend.state()
    limited = {}
    for rig in rigs:
        rig.check_delivered(files[rig.device.id])
        limited[rig.device.id] = count_429(state, rig.device.id)
    total = sum(limited.values())
    windows = DEVICES * FILES_EACH // URLS_PER_WINDOW + 1
    print(
        f"load: {DEVICES} devices x {FILES_EACH} files delivered; 429s per device {sorted(limited.values())}"
    )
    assert total >= 1, "the limit was never reached: the test proves nothing"
    assert max(limited.values()) <= 2 * windows, f"a device hammered the API: {limited}"


def count_429(state: dict, device_id: str) -> int:
    """Upload-URL calls this device made beyond the media it got: the ones refused (429)."""
    calls = state["calls_by_device"].get(device_id, {}).get("upload_url", 0)
    recs = (
        state["recordings"].values()
        if isinstance(state["recordings"], dict)
        else state["recordings"]
    )
    issued = sum(len(r["media"]) for r in recs if r["device_id"] == device_id)
    return calls - issued

"""Hands finished files to the spool for one recording; holds what the spool cannot take yet.

A file the spool refuses (SpoolFull) stays where it is and is offered again when space returns; it is
never deleted. Media captured before wall time was valid go in with captured_at None, their
monotonic time and boot id, and are stamped (update_times) as soon as the timeline is anchored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device.clock import Timeline, boot_id
from device.spool import Spool, SpoolFull

log = logging.getLogger(__name__)


@dataclass
class Media:
    """One file of the recording, as capture knows it (the spool row has the rest)."""

    type: str
    content_type: str
    path: Path
    sample: int | None = None  # audio: first sample on the recording's timeline
    monotonic_ns: int | None = None  # images: capture time
    seconds: float | None = None
    media_id: str | None = None  # None while the spool has not taken it
    captured_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "id": self.media_id,
            "type": self.type,
            "content_type": self.content_type,
            "captured_at": self.captured_at,
            "monotonic_ns": self.monotonic_ns,
        }
        if self.seconds is not None:
            out["seconds"] = round(self.seconds, 6)
        return out


@dataclass
class SpoolSink:
    spool: Spool
    recording_id: str
    timeline: Timeline
    media: list[Media] = field(default_factory=list)
    boot: str = field(default_factory=boot_id)

    def temp_path(self, suffix: str) -> Path:
        return self.spool.incoming_path(suffix)

    def has_room(self, nbytes: int) -> bool:
        return self.spool.space_available(nbytes)

    @property
    def pending(self) -> list[Media]:
        return [m for m in self.media if m.media_id is None]

    def add(self, item: Media) -> bool:
        """Offer a finished file; False (and kept for later) when the spool is full."""
        if item.sample is not None:
            item.monotonic_ns = (
                self.timeline.anchor_mono + item.sample * 1_000_000_000 // self.timeline.rate
            )
        self.media.append(item)
        return self._offer(item)

    def _offer(self, item: Media) -> bool:
        item.captured_at = self._stamp(item)
        try:
            item.media_id = self.spool.add_media(
                self.recording_id,
                item.path,
                type=item.type,
                content_type=item.content_type,
                captured_at=item.captured_at,
                monotonic_ns=item.monotonic_ns,
                boot_id=self.boot,
            )
        except SpoolFull as exc:
            log.warning(
                "spool full, %s kept at %s until space returns: %s", item.type, item.path, exc
            )
            return False
        return True

    def retry_pending(self) -> bool:
        """Offer the held files again, oldest first; True when none is left."""
        for item in self.pending:
            if not self._offer(item):
                return False
        return True

    def _stamp(self, item: Media) -> str | None:
        if item.sample is not None:
            return self.timeline.at_sample(item.sample)
        return self.timeline.at_monotonic(item.monotonic_ns)

    def stamp_held(self) -> int:
        """The timeline just got its anchor: stamp the recording and every media taken in without
        a time. Returns how many media were stamped."""
        held = {
            m.media_id: self._stamp(m) for m in self.media if m.media_id and m.captured_at is None
        }
        for m in self.media:
            if m.media_id in held:
                m.captured_at = held[m.media_id]
        self.spool.update_times(
            self.recording_id, started_at=self.timeline.at_sample(0), media=held
        )
        log.info(
            "recording %s: wall time valid, stamped %d held media", self.recording_id, len(held)
        )
        return len(held)

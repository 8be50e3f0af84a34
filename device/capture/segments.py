"""Audio frames -> segment files of exactly `segment_samples` each, handed to the sink.

Segment k covers samples [k*S, (k+1)*S) of the recording, so boundaries are contiguous by
construction. Samples the ring buffer lost are written as silence (and counted), so a file's length
always matches its place on the timeline. When the spool has no room, the current segment ends
cleanly, audio is discarded (counted) and `storage_full` is set until room returns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from device.capture.sink import Media, SpoolSink
from device.codec import CONTENT_TYPES, SUFFIXES, SegmentWriter, open_segment
from hal.audio import AudioFrame

log = logging.getLogger(__name__)
HEADROOM = 1.25  # estimates of a segment's size err on the large side
CHECK_EVERY_S = 1.0  # how often (in audio time) room is re-checked inside a segment


@dataclass(frozen=True)
class SegmentPlan:
    codec: str
    rate: int
    bitrate_kbps: int
    segment_seconds: float

    @property
    def segment_samples(self) -> int:
        return max(1, round(self.segment_seconds * self.rate))

    def bytes_for(self, samples: int) -> int:
        """A generous size estimate for `samples` of audio in this codec."""
        if self.codec == "wav":
            return samples * 2 + 44
        return int(samples / self.rate * self.bitrate_kbps * 125 * HEADROOM) + 4096


class AudioSegmenter:
    def __init__(self, plan: SegmentPlan, sink: SpoolSink) -> None:
        self.plan, self.sink = plan, sink
        self.position = 0  # next sample of the timeline
        self.segments = 0
        self.silence_filled = 0  # samples lost in the ring, written as silence
        self.discarded = 0  # samples thrown away while storage was full
        self.storage_full = False
        self.full_events = 0
        self.broken: list[str] = []  # segment files that could not be finished (disk error)
        self._writer: SegmentWriter | None = None
        self._start = 0  # first sample of the open segment
        self._next_check = 0

    def feed(self, frame: AudioFrame, limit: int | None = None) -> None:
        """Write a frame at its place on the timeline, never past sample `limit`."""
        limit = self.position + frame.samples + frame.lost if limit is None else limit
        if frame.sample > self.position:
            gap = min(frame.sample, limit) - self.position
            self.silence_filled += gap
            log.warning("ring buffer overrun: %d samples lost, written as silence", gap)
            self._write(b"\0\0" * gap)
        self._write(frame.pcm[: max(0, limit - self.position) * 2])

    def _write(self, pcm: bytes) -> None:
        while pcm:
            take = self._room_in_segment(len(pcm) // 2)
            part, pcm = pcm[: take * 2], pcm[take * 2 :]
            if self._ensure_open():
                self._write_part(part)
            else:
                self.discarded += take
            self.position += take
            if self._writer and self.position - self._start >= self.plan.segment_samples:
                self.finish()

    def _write_part(self, part: bytes) -> None:
        try:
            self._writer.write(part)
        except OSError as exc:  # the disk itself is full (ENOSPC) or failing
            log.error("segment write failed at sample %d: %s", self.position, exc)
            self._enter_full()

    def _room_in_segment(self, samples: int) -> int:
        boundary = (self.position // self.plan.segment_samples + 1) * self.plan.segment_samples
        return min(samples, boundary - self.position)

    def _ensure_open(self) -> bool:
        """Open a segment when needed and keep checking room; False while storage is full."""
        due = self.position >= self._next_check
        if not due and (self._writer is not None or self.storage_full):
            return self._writer is not None
        self._next_check = self.position + int(CHECK_EVERY_S * self.plan.rate)
        left = self.plan.segment_samples - self.position % self.plan.segment_samples
        if not (self.sink.retry_pending() and self.sink.has_room(self.plan.bytes_for(left))):
            self._enter_full()
            return False
        if self.storage_full:
            self.storage_full = False
            log.warning("storage available again: capture resumes at sample %d", self.position)
        if self._writer is None:
            self._open()
        return True

    def _open(self) -> None:
        path = self.sink.temp_path(SUFFIXES[self.plan.codec])
        self._writer = open_segment(self.plan.codec, path, self.plan.rate, self.plan.bitrate_kbps)
        self._start = self.position

    def _enter_full(self) -> None:
        if self._writer is not None:
            self.finish()  # end the current segment cleanly with what it has
        if not self.storage_full:
            self.storage_full = True
            self.full_events += 1
            log.error(
                "storage full: segment ended at sample %d; audio is dropped until room returns "
                "(nothing un-uploaded is deleted)",
                self.position,
            )

    def finish(self) -> None:
        """Close the open segment (if any) and hand it to the sink."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            samples = writer.close()
        except OSError as exc:  # left on disk, never deleted: the spool's repair finds it
            self.broken.append(str(writer.path))
            log.error("segment %s could not be completed (%s); left in place", writer.path, exc)
            return
        self.segments += 1
        self.sink.add(
            Media(
                "audio",
                CONTENT_TYPES[self.plan.codec],
                writer.path,
                sample=self._start,
                seconds=samples / self.plan.rate,
            )
        )

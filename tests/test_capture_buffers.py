"""Ring buffers under a stalled consumer: fixed memory, overruns counted, the producer never blocks."""

from __future__ import annotations

import threading

from hal.buffers import FrameRing, PcmRing


def test_pcm_ring_stalled_consumer_overwrites_oldest_and_counts() -> None:
    ring = PcmRing(capacity=1000, bytes_per_second=1000)
    buffer_id = id(ring._buf)
    chunks = [bytes([i % 256]) * 100 for i in range(100)]  # 10x the capacity, nobody reading

    def produce() -> None:
        for i, chunk in enumerate(chunks):
            ring.write(chunk, end_monotonic_ns=(i + 1) * 100_000_000)

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join(timeout=30)
    assert not producer.is_alive(), "the producer blocked on a stalled consumer"
    assert id(ring._buf) == buffer_id and len(ring._buf) == 1000  # memory fixed at construction
    assert len(ring) == 1000
    assert ring.overruns == 90 and ring.lost_bytes == 9000
    chunk = ring.read(10_000, timeout=0)
    assert chunk.position == 9000 and chunk.lost_before == 9000
    assert chunk.data == b"".join(chunks[90:])  # the newest data survived, in order
    # byte 9000 is the first of chunk 90, written with end time 9.1 s: 100 bytes earlier = 9.0 s
    assert chunk.monotonic_ns == 9_000_000_000


def test_pcm_ring_reads_in_order_across_wraparound_and_aligns() -> None:
    ring = PcmRing(capacity=7, bytes_per_second=2)
    ring.write(b"abcde", 1)
    assert ring.read(4, timeout=0).data == b"abcd"
    ring.write(b"fghij", 2)
    chunk = ring.read(100, timeout=0, align=2)
    assert chunk.data == b"efghij" and chunk.position == 4 and chunk.lost_before == 0
    assert ring.read(100, timeout=0) is None
    assert ring.overruns == 0


def test_pcm_ring_close_wakes_the_consumer() -> None:
    ring = PcmRing(capacity=10, bytes_per_second=10)
    got: list[object] = []
    consumer = threading.Thread(target=lambda: got.append(ring.read(5, timeout=30)))
    consumer.start()
    ring.close()
    consumer.join(timeout=10)
    assert got == [None] and ring.closed


def test_frame_ring_drops_oldest_and_counts() -> None:
    ring: FrameRing[bytes] = FrameRing(3)
    for i in range(10):
        ring.put(bytes([i]), monotonic_ns=i)
    assert len(ring) == 3 and ring.overruns == 7
    got = [ring.get() for _ in range(4)]
    assert [g.item for g in got[:3]] == [b"\x07", b"\x08", b"\x09"]
    assert [g.sequence for g in got[:3]] == [7, 8, 9] and got[3] is None


def test_pcm_ring_write_larger_than_capacity_keeps_positions() -> None:
    ring = PcmRing(capacity=4, bytes_per_second=4)
    ring.write(b"0123456789", 10)
    chunk = ring.read(100, timeout=0)
    assert chunk.data == b"6789" and chunk.position == 6 and chunk.lost_before == 6
    assert chunk.monotonic_ns == 10 - 1_000_000_000  # 4 bytes before the end at 4 bytes/s

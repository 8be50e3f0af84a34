"""Time: ISO 8601 UTC timestamps with milliseconds and `Z`, as the cloud API expects them, and the
capture time model (valid wall time, per-recording timelines anchored to the monotonic clock)."""

from __future__ import annotations

import calendar
import ctypes
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


def utc_iso(moment: datetime | float) -> str:
    """Format an aware datetime or a Unix time as e.g. `2026-12-04T15:23:27.123Z`."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give an aware one (UTC)")
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp that carries a zone (`Z` or an offset); naive is an error."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {text!r}")
    return value.astimezone(UTC)


def utc_now_iso() -> str:
    return utc_iso(datetime.now(UTC))


# --- The time model ---------------------------------------------------------------------------
# Within a recording the audio sample count is the timeline; the monotonic clock maps images onto
# it; wall time only supplies the anchor, and only once it is known to be valid.

_STA_UNSYNC = 0x0040
_TIME_ERROR = 5
TIMESYNCD_MARKER = Path("/run/systemd/timesync/synchronized")
BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
# Any wall time before this is certainly wrong (1970, or an image's build date at first boot).
PLAUSIBLE_AFTER = datetime(2026, 1, 1, tzinfo=UTC)
STEP_THRESHOLD_NS = 1_000_000_000  # a wall-clock jump larger than this is logged as a step
TIME_POLICIES = ("sync", "plausible")

log = logging.getLogger(__name__)


def iso_from_ns(wall_ns: int) -> str:
    """Unix time in ns -> `2026-12-04T15:23:27.123Z` (milliseconds truncated, exact integer math)."""
    seconds, rest = divmod(wall_ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rest // 1_000_000:03d}Z"


def ns_from_datetime(moment: datetime) -> int:
    """Aware datetime -> Unix time in ns."""
    moment = moment.astimezone(UTC)
    return (calendar.timegm(moment.timetuple()) * 1_000_000 + moment.microsecond) * 1000


def ns_from_iso(text: str) -> int:
    return ns_from_datetime(parse_iso(text))


@dataclass(frozen=True)
class Clock:
    """The two clocks the time model reads; tests inject their own instead of sleeping or patching."""

    wall_ns: Callable[[], int] = time.time_ns
    monotonic_ns: Callable[[], int] = time.monotonic_ns


class _Timex(ctypes.Structure):
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_pad", ctypes.c_int * 11),
    ]


def kernel_time_synced() -> bool:
    """True when an NTP daemon (timesyncd, chrony, ntpd) told the kernel the clock is synchronised:
    adjtimex(2) read-only, STA_UNSYNC clear; or systemd-timesyncd's marker file exists."""
    if TIMESYNCD_MARKER.exists():
        return True
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError) as exc:
        log.debug("adjtimex unavailable: %s", exc)
        return False
    return state not in (-1, _TIME_ERROR) and not tx.status & _STA_UNSYNC


def boot_id() -> str:
    """This boot's id: monotonic times are only comparable within one boot."""
    try:
        return BOOT_ID_PATH.read_text().strip()
    except OSError:
        return "unknown"


class TimeBase:
    """Is wall time valid, and what wall time was a monotonic instant?

    Valid when (policy "sync") the kernel clock is NTP-synchronised, or (policy "plausible", for a
    battery-backed RTC) it is merely after PLAUSIBLE_AFTER, or when `network_time()` was told the
    time by the modem (then the system clock need not be set at all). Listeners added with
    `on_valid` run once, in the caller's thread, when `check()` first finds the time valid.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        policy: str = "sync",
        synced: Callable[[], bool] = kernel_time_synced,
    ) -> None:
        if policy not in TIME_POLICIES:
            raise ValueError(
                f"unknown time policy {policy!r} (allowed: {', '.join(TIME_POLICIES)})"
            )
        self.clock = clock or Clock()
        self.policy = policy
        self._synced = synced
        self._offset_ns: int | None = None  # wall - monotonic, from network_time()
        self.source = ""
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._fired = False

    def network_time(
        self, utc: datetime, monotonic_ns: int | None = None, source: str = "modem"
    ) -> None:
        """The hook for a time source outside the kernel (the modem's network time, +CTZV/+CCLK):
        `utc` was the true time at `monotonic_ns` (default: now). Makes the time valid."""
        mono = self.clock.monotonic_ns() if monotonic_ns is None else monotonic_ns
        wall = ns_from_datetime(utc)
        with self._lock:
            self._offset_ns = wall - mono
            self.source = source
        log.info("wall time valid from %s: %s", source, utc_iso(utc))
        self.check()

    def _system_valid(self) -> bool:
        if self.clock.wall_ns() < int(PLAUSIBLE_AFTER.timestamp()) * 1_000_000_000:
            return False
        return self.policy == "plausible" or self._synced()

    def valid(self) -> bool:
        return self._offset_ns is not None or self._system_valid()

    def wall_at(self, monotonic_ns: int) -> int | None:
        """Wall time (ns) of a monotonic instant of this boot, or None while time is not valid."""
        if self._offset_ns is not None:
            return self._offset_ns + monotonic_ns
        if not self._system_valid():
            return None
        return self.clock.wall_ns() - (self.clock.monotonic_ns() - monotonic_ns)

    def on_valid(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def check(self) -> bool:
        """Poll validity; the first time it is valid, run the listeners. Returns validity."""
        ok = self.valid()
        if ok and not self._fired:
            self._fired = True
            self.source = self.source or ("system clock" if self.policy == "plausible" else "NTP")
            for callback in list(self._listeners):
                callback()
        return ok


class Timeline:
    """One recording's timeline: sample n was captured at anchor + n/rate; a monotonic instant m at
    anchor + (m - anchor_mono). The anchor is fixed once set, so a wall-clock step cannot move,
    reorder or skew the recording's media; steps are detected and logged."""

    def __init__(self, timebase: TimeBase, rate: int, anchor_mono_ns: int, name: str = "") -> None:
        self.timebase, self.rate, self.name = timebase, rate, name
        self.anchor_mono = anchor_mono_ns
        self.anchor_wall = timebase.wall_at(anchor_mono_ns)
        self.steps = 0
        self.drift_ppm = 0.0
        self._expected_offset = self._wall_offset()

    @property
    def anchored(self) -> bool:
        return self.anchor_wall is not None

    def anchor(self) -> bool:
        """Set the anchor now if time just became valid; True when it was set by this call."""
        if self.anchor_wall is not None:
            return False
        self.anchor_wall = self.timebase.wall_at(self.anchor_mono)
        self._expected_offset = self._wall_offset()
        return self.anchor_wall is not None

    def at_sample(self, sample: int) -> str | None:
        if self.anchor_wall is None:
            return None
        return iso_from_ns(self.anchor_wall + sample * 1_000_000_000 // self.rate)

    def at_monotonic(self, monotonic_ns: int) -> str | None:
        if self.anchor_wall is None:
            return None
        return iso_from_ns(self.anchor_wall + monotonic_ns - self.anchor_mono)

    def _wall_offset(self) -> int:
        clock = self.timebase.clock
        return clock.wall_ns() - clock.monotonic_ns()

    def check_step(self) -> int:
        """Compare the system clock with the monotonic clock; log and count a step (returns ns)."""
        offset = self._wall_offset()
        step = offset - self._expected_offset
        if abs(step) >= STEP_THRESHOLD_NS:
            self.steps += 1
            self._expected_offset = offset
            log.warning(
                "recording %s: wall clock stepped by %+.3f s; its media keep the recording's "
                "timeline (anchor %s)",
                self.name,
                step / 1e9,
                iso_from_ns(self.anchor_wall) if self.anchor_wall is not None else "not yet valid",
            )
            return step
        return 0

    def measure_drift(self, sample: int, monotonic_ns: int | None) -> float:
        """Sound card clock vs monotonic clock, in ppm (positive: the card runs fast)."""
        elapsed = (monotonic_ns or 0) - self.anchor_mono
        if monotonic_ns is None or elapsed < 1_000_000_000:
            return self.drift_ppm
        self.drift_ppm = (sample * 1e9 / self.rate - elapsed) / elapsed * 1e6
        return self.drift_ppm

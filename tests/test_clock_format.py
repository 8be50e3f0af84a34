"""ISO 8601 formatting and parsing used on every API call."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from device.clock import parse_iso, utc_iso


def test_format_has_millis_and_z():
    moment = datetime(2026, 12, 4, 15, 23, 27, 123456, tzinfo=UTC)
    assert utc_iso(moment) == "2026-12-04T15:23:27.123Z"
    assert utc_iso(moment.timestamp()) == "2026-12-04T15:23:27.123Z"


def test_other_zone_converted_and_roundtrip():
    moment = datetime(2026, 12, 4, 16, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    assert utc_iso(moment) == "2026-12-04T15:00:00.000Z"
    assert parse_iso("2026-12-04T15:00:00.000Z") == moment


def test_naive_refused():
    with pytest.raises(ValueError):
        utc_iso(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="without a time zone"):
        parse_iso("2026-01-01T00:00:00")

"""Time: ISO 8601 UTC timestamps with milliseconds and `Z`, as the cloud API expects them."""

from __future__ import annotations

from datetime import UTC, datetime


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

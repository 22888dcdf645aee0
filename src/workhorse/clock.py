"""Time helpers: every timestamp in Workhorse is an aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, date, datetime, time


def utcnow() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def require_aware(value: datetime) -> datetime:
    """``value`` itself; a naive datetime is refused with ValueError."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware datetime (e.g. tzinfo=UTC)")
    return value


def to_epoch(value: datetime) -> float:
    """Seconds since the epoch; naive datetimes are refused."""
    return require_aware(value).timestamp()


def at_epoch(value: float) -> datetime:
    """The aware UTC datetime for an epoch timestamp."""
    return datetime.fromtimestamp(value, UTC)


def from_epoch(value: float | None) -> datetime | None:
    """The aware UTC datetime for an epoch timestamp, or None."""
    return None if value is None else datetime.fromtimestamp(value, UTC)


def utc_day(value: datetime) -> date:
    """The UTC calendar day of ``value``."""
    return require_aware(value).astimezone(UTC).date()


def day_start(value: datetime) -> datetime:
    """Midnight UTC that began ``value``'s UTC day."""
    return datetime.combine(utc_day(value), time(), tzinfo=UTC)

"""Stripe's timestamps as datetimes, and the one way Portico writes a date for people."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def from_timestamp(timestamp: int | None) -> datetime | None:
    """A Unix timestamp as an aware UTC datetime; None (or 0, Stripe's "not set") stays None."""
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def long_date(moment: datetime | None) -> str:
    """ "December 1, 2026", or a dash when there is no date."""
    return f'{moment:%B} {moment.day}, {moment.year}' if moment else '—'


def whole(value) -> int | None:
    """A form's number as a whole number, or None when it is not one ("3", 3.0 and 3 are; "3.5", "x" are not)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None

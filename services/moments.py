"""Stripe's timestamps as datetimes, and the one way Portico writes a date for people."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def from_timestamp(timestamp: int | None) -> datetime | None:
    """A Unix timestamp as an aware UTC datetime; None (or 0, Stripe's "not set") stays None."""
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def long_date(moment: datetime | None, *, time: bool = False) -> str:
    """ "December 1, 2026", or with `time` "December 1, 2026, 21:31 UTC"; a dash when there is no date.

    Portico keeps and shows every moment in UTC, the server's time, and says so wherever it shows a time of day.
    """
    if not moment:
        return '—'
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    day = f'{moment:%B} {moment.day}, {moment.year}'
    return f'{day}, {moment:%H:%M} UTC' if time else day


def whole(value) -> int | None:
    """A form's number as a whole number, or None when it is not one ("3", 3.0 and 3 are; "3.5", "x" are not)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None

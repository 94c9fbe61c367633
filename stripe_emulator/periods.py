"""Billing-period arithmetic in UTC, anchored like Stripe: a monthly cycle anchored on the 31st bills on
the last day of shorter months and returns to the 31st afterwards."""

import calendar
import datetime

DAY = 86400


def add_intervals(anchor: int, recurring: dict, count: int) -> int:
    """The time `count` billing intervals after `anchor`."""
    interval, step = recurring['interval'], recurring.get('interval_count', 1) * count
    if interval == 'day':
        return anchor + step * DAY
    if interval == 'week':
        return anchor + step * 7 * DAY
    months = step * 12 if interval == 'year' else step
    start = datetime.datetime.fromtimestamp(anchor, datetime.UTC)
    years, month_index = divmod(start.month - 1 + months, 12)
    year, month = start.year + years, month_index + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def period_end_after(anchor: int, recurring: dict, start: int) -> int:
    """The first cycle boundary (counted from `anchor`) strictly after `start`."""
    count = 1
    # Jump close first: a cycle is at least a day, so this never overshoots by more than a few steps.
    if start > anchor:
        approx = {'day': DAY, 'week': 7 * DAY, 'month': 28 * DAY, 'year': 365 * DAY}[recurring['interval']]
        count = max(1, (start - anchor) // (approx * recurring.get('interval_count', 1)) - 1)
        while count > 1 and add_intervals(anchor, recurring, count - 1) > start:
            count -= 1
    while (end := add_intervals(anchor, recurring, count)) <= start:
        count += 1
    return end


def format_date(timestamp: int) -> str:
    """Stripe's short date in line descriptions, e.g. '24 Nov 2026'."""
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime('%d %b %Y').lstrip('0')

"""A prorated preview in words, read from the lines of Stripe's upcoming invoice: the period they cover and what is
charged and credited for it, as in "For the 12 days left until January 1, 2027: Professional, 3 seats, less what is
left of Flexible, 1 seat.", and each line's amount.

`names` maps the Stripe price ids a preview may hold (the subscription's price now, and the one it changes to) to
their plan's name and interval. A line of another price is not guessed at: it keeps Stripe's own description, and
then no sentence is made.
"""

import math

from services.moments import from_timestamp, long_date
from services.plans import Interval, format_money
from services.words import plural

DAY = 86400
Names = dict[str, tuple[str, Interval]]


def explanation(lines: list[dict], names: Names) -> str | None:
    """One sentence: the period of what is charged, what is charged for it, and less what is left of the old
    subscription (with its own period when that differs, as when the billing interval changes)."""
    lines = [line for line in lines if line['amount']]
    if not lines or any(_name(line, names, lines) is None for line in lines):
        return None
    charged = [line for line in lines if line['amount'] > 0]
    credited = [line for line in lines if line['amount'] < 0]
    lead = _period(charged[0] if charged else credited[0])
    words = ' and '.join(_name(line, names, lines) for line in charged)
    for line in credited:
        period = _period(line)
        left = f'what is left of {_name(line, names, lines)}' + ('' if period == lead else f', {period}')
        words = f'{words}, less {left}' if words else f'{left}, credited'
    return f'{lead[:1].upper()}{lead[1:]}: {words}.'


def amounts(lines: list[dict], names: Names, currency: str) -> list[str]:
    """Each line with its amount, in the sentence's order: "Professional, 3 seats: $36.00", then "What is left of
    Flexible, 1 seat: -$10.00"."""
    shown = []
    for line in sorted(lines, key=lambda line: line['amount'] < 0):
        name = _name(line, names, lines)
        if name is None:
            shown.append(f'{line["description"]}: {format_money(line["amount"], currency)}')
        elif line['amount'] < 0:
            shown.append(f'What is left of {name}: {format_money(line["amount"], currency)}')
        else:
            shown.append(f'{name}: {format_money(line["amount"], currency)}')
    return shown


def _name(line: dict, names: Names, lines: list[dict]) -> str | None:
    """ "Flexible, 2 seats"; "Flexible, yearly, 2 seats" when the lines are of more than one interval."""
    named = names.get(_price(line))
    if named is None:
        return None
    intervals = {names[_price(other)][1] for other in lines if _price(other) in names}
    interval = f'{named[1].adjective}, ' if len(intervals) > 1 else ''
    return f'{named[0]}, {interval}{plural(line.get("quantity") or 1, "seat")}'


def _period(line: dict) -> str:
    """ "for the 12 days left until January 1, 2027" (a proration), or "from December 1, 2026 to December 1, 2027"
    (a whole new period, as after a change of billing interval)."""
    start, end = line['period']['start'], line['period']['end']
    details = (line.get('parent') or {}).get('subscription_item_details') or {}
    if details.get('proration'):
        days = max(1, math.ceil((end - start) / DAY))
        return f'for the {plural(days, "day")} left until {long_date(from_timestamp(end))}'
    return f'from {long_date(from_timestamp(start))} to {long_date(from_timestamp(end))}'


def _price(line: dict) -> str | None:
    return ((line.get('pricing') or {}).get('price_details') or {}).get('price')

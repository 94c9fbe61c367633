"""Money is integer minor units everywhere; this only formats it for people."""

from decimal import Decimal

ZERO_DECIMAL = {'bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf',
                'xof', 'xpf'}  # fmt: skip
_SYMBOLS = {'usd': '$', 'eur': '€', 'gbp': '£', 'jpy': '¥', 'chf': 'CHF ', 'cad': 'CA$', 'aud': 'A$', 'sek': 'SEK ',
            'nok': 'NOK ', 'dkk': 'DKK ', 'pln': 'PLN '}  # fmt: skip


def format_money(amount: int, currency: str, *, ascii_only: bool = False) -> str:
    currency = currency.lower()
    digits = 0 if currency in ZERO_DECIMAL else 2
    value = Decimal(abs(amount)).scaleb(-digits)
    text = f'{value:,.{digits}f}'
    symbol = _SYMBOLS.get(currency, f'{currency.upper()} ')
    if ascii_only and not symbol.isascii():
        symbol = f'{currency.upper()} '
    return f'{"-" if amount < 0 else ""}{symbol}{text}'


def format_interval(recurring: dict | None) -> str:
    if not recurring:
        return ''
    count, interval = recurring.get('interval_count', 1), recurring['interval']
    return f'{interval}' if count == 1 else f'{count} {interval}s'

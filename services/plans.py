"""The plan catalog: plans.toml, validated at start-up, and the lookup keys that tie each plan to Stripe prices."""

import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from services.errors import ValidationFailed
from services.words import plural

# Currencies without minor units (Stripe's zero-decimal currencies) that a catalog is likely to use.
ZERO_DECIMAL = {'jpy', 'krw', 'vnd', 'clp', 'pyg', 'isk', 'ugx', 'xaf', 'xof'}


class PlanCatalogError(ValueError):
    """plans.toml is wrong; the message names the plan and the field."""


class Interval(StrEnum):
    """A billing interval. plans.toml gives a plan a price for one with `<adjective>_price` (`quarterly_price`)."""

    MONTH = 'month'
    QUARTER = 'quarter'
    YEAR = 'year'

    @property
    def adjective(self) -> str:
        return {'month': 'monthly', 'quarter': 'quarterly', 'year': 'yearly'}[self.value]

    @property
    def months(self) -> int:
        return {'month': 1, 'quarter': 3, 'year': 12}[self.value]

    @property
    def label(self) -> str:
        """What the chooser and the dialogs call it: "Monthly", "Yearly"."""
        return self.adjective.capitalize()

    @property
    def recurring(self) -> dict:
        """Stripe's `recurring` for a price of this interval (Stripe has no quarter: three months)."""
        return {'interval': 'month', 'interval_count': 3} if self is Interval.QUARTER else {'interval': self.value}

    @classmethod
    def of(cls, value: object) -> 'Interval | None':
        try:
            return cls(value)
        except ValueError:
            return None


# Every plan has these; the others are optional.
REQUIRED_INTERVALS = (Interval.MONTH, Interval.YEAR)


@dataclass(frozen=True)
class TokenPack:
    """An add-on: prepaid tokens, sold in packs beside the plan's seats."""

    size: int
    price: int  # minor units
    id: str = 'token_pack'


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    description: str
    features: tuple[str, ...]
    currency: str
    prices: dict[Interval, int]  # minor units per seat, in Interval's order
    min_seats: int
    max_seats: int
    add_ons: tuple[TokenPack, ...] = ()

    @property
    def intervals(self) -> tuple[Interval, ...]:
        return tuple(self.prices)

    def price(self, interval: str) -> int:
        return self.prices[Interval(interval)]

    @property
    def monthly_price(self) -> int:
        return self.prices[Interval.MONTH]

    @property
    def yearly_price(self) -> int:
        return self.prices[Interval.YEAR]

    def lookup_key(self, interval: str) -> str:
        return f'portico_{self.id}_{Interval(interval).adjective}'

    def seat_range(self, in_use: int) -> tuple[int, int]:
        """The fewest and the most seats the plan can have while `in_use` users are enabled."""
        return max(self.min_seats, in_use), self.max_seats

    @property
    def token_pack(self) -> TokenPack | None:
        return next((add_on for add_on in self.add_ons if isinstance(add_on, TokenPack)), None)

    @property
    def uses_tokens(self) -> bool:
        return self.token_pack is not None

    def add_on_lookup_key(self, add_on: TokenPack) -> str:
        return f'portico_{self.id}_{add_on.id}'

    @property
    def token_pack_lookup_key(self) -> str:
        return self.add_on_lookup_key(self.token_pack)

    @property
    def product_id(self) -> str:
        return f'portico_{self.id}'


@dataclass(frozen=True)
class Catalog:
    plans: tuple[Plan, ...]

    def get(self, plan_id: str) -> Plan:
        for plan in self.plans:
            if plan.id == plan_id:
                return plan
        raise KeyError(plan_id)

    def by_lookup_key(self, lookup_key: str | None) -> tuple[Plan, Interval] | None:
        """The plan and interval a Stripe price's lookup_key stands for."""
        for plan in self.plans:
            for interval in plan.intervals:
                if plan.lookup_key(interval) == lookup_key:
                    return plan, interval
        return None

    @property
    def intervals(self) -> tuple[Interval, ...]:
        """Every interval some plan has a price for, in Interval's order."""
        return tuple(interval for interval in Interval if any(interval in plan.prices for plan in self.plans))


def check_seats(plan: Plan, seats: int, *, enabled: int) -> None:
    """Refuse a seat count outside what the plan allows while `enabled` users are enabled."""
    floor, most = plan.seat_range(enabled)
    if not isinstance(seats, int) or seats < floor:
        raise ValidationFailed({'seats': too_few_seats(plan, floor, enabled)})
    if seats > most:
        raise ValidationFailed({'seats': f'{plan.name} allows at most {plural(most, "seat")}.'})


def too_few_seats(plan: Plan, floor: int, enabled: int) -> str:
    """ "Choose at least 4 seats: 4 users are enabled." (or the plan's own minimum), in the right plurals."""
    if enabled >= plan.min_seats:
        reason = f'{plural(enabled, "user")} {"is" if enabled == 1 else "are"} enabled'
    else:
        reason = f'{plan.name} starts at {plural(floor, "seat")}'
    return f'Choose at least {plural(floor, "seat")}: {reason}.'


def load_catalog(path: Path) -> Catalog:
    try:
        data = tomllib.loads(path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise PlanCatalogError(f'{path} is missing') from None
    except tomllib.TOMLDecodeError as error:
        raise PlanCatalogError(f'{path} is not valid TOML: {error}') from None
    plans = data.get('plans')
    if not isinstance(plans, dict) or not plans:
        raise PlanCatalogError(f'{path} defines no [plans.<id>] tables')
    return Catalog(plans=tuple(_plan(plan_id, values) for plan_id, values in plans.items()))


def format_money(amount: int, currency: str) -> str:
    """'$12.50', '€12.50' or '12.50 CHF', from minor units."""
    symbols = {'usd': '$', 'eur': '€', 'gbp': '£'}
    if currency.lower() in ZERO_DECIMAL:
        number = f'{amount:,}'
    else:
        number = f'{Decimal(amount) / 100:,.2f}'
    if amount < 0:
        number = number.lstrip('-')
    sign = '-' if amount < 0 else ''
    symbol = symbols.get(currency.lower())
    return f'{sign}{symbol}{number}' if symbol else f'{sign}{number} {currency.upper()}'


def saving(plan: Plan, interval: str) -> str | None:
    """What paying per `interval` saves against paying monthly: "2 months free", "Save 15%", or None for no saving.

    Whole months are named as such; otherwise the percentage is rounded down, so the saving is never overstated.
    """
    interval = Interval(interval)
    monthly, price = plan.monthly_price, plan.price(interval)
    saved = monthly * interval.months - price
    if saved <= 0:
        return None
    months, rest = divmod(saved, monthly)
    if not rest:
        return f'{plural(months, "month")} free'
    percent = saved * 100 // (monthly * interval.months)
    return f'Save {percent}%' if percent else None


def _plan(plan_id: str, values: dict) -> Plan:
    where = f'plans.{plan_id}'
    if not isinstance(values, dict):
        raise PlanCatalogError(f'{where} must be a table ([plans.{plan_id}])')
    if not plan_id.isidentifier() or not plan_id.islower():
        raise PlanCatalogError(f'{where}: the plan id must be lower-case letters, digits and underscores')
    currency = _text(values, 'currency', where).lower()
    if len(currency) != 3 or not currency.isalpha():
        raise PlanCatalogError(f'{where}.currency must be a three-letter ISO code such as "usd"')
    min_seats, max_seats = _count(values, 'min_seats', where), _count(values, 'max_seats', where)
    if min_seats > max_seats:
        raise PlanCatalogError(f'{where}: min_seats ({min_seats}) is above max_seats ({max_seats})')
    uses_tokens = values.get('uses_tokens', False)
    if not isinstance(uses_tokens, bool):
        raise PlanCatalogError(f'{where}.uses_tokens must be true or false')
    add_ons = ()
    if uses_tokens:
        add_ons = (
            TokenPack(size=_count(values, 'token_pack_size', where),
                      price=_money(values, 'token_pack_price', where, currency)),
        )  # fmt: skip
    prices = {
        interval: _money(values, f'{interval.adjective}_price', where, currency)
        for interval in Interval
        if interval in REQUIRED_INTERVALS or f'{interval.adjective}_price' in values
    }
    features = values.get('features', [])
    if not isinstance(features, list) or not all(isinstance(feature, str) for feature in features):
        raise PlanCatalogError(f'{where}.features must be a list of strings')
    return Plan(
        id=plan_id,
        name=_text(values, 'name', where),
        description=_text(values, 'description', where),
        features=tuple(features),
        currency=currency,
        prices=prices,
        min_seats=min_seats,
        max_seats=max_seats,
        add_ons=add_ons,
    )


def _text(values: dict, field: str, where: str) -> str:
    value = values.get(field)
    if not isinstance(value, str) or not value.strip():
        raise PlanCatalogError(f'{where}.{field} is required (text)')
    return value.strip()


def _count(values: dict, field: str, where: str) -> int:
    value = values.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise PlanCatalogError(f'{where}.{field} must be a whole number of at least 1')
    return value


def _money(values: dict, field: str, where: str, currency: str) -> int:
    value = values.get(field)
    try:
        amount = Decimal(str(value)) if isinstance(value, int | float) and not isinstance(value, bool) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        raise PlanCatalogError(f'{where}.{field} must be a positive price, e.g. 12.50')
    minor = amount if currency in ZERO_DECIMAL else amount * 100
    if minor != minor.to_integral_value():
        raise PlanCatalogError(f'{where}.{field} has more decimals than {currency.upper()} allows')
    return int(minor)

"""Subscription billing maths: proration lines, the effect of a subscription change, cycle lines.

`plan_change` is the single place where a change to a subscription is priced. The preview endpoint
(`invoices/create_preview`) and the real update (`subscriptions.update`) both call it, so a preview with
a given `proration_date` and the update with the same date agree to the cent.
"""

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .context import Context
from .errors import invalid
from .ids import new_id
from .money import format_interval, format_money
from .params import get_bool, get_int, get_str, merge_metadata
from .periods import add_intervals, format_date, period_end_after

PRORATION_BEHAVIORS = ('create_prorations', 'always_invoice', 'none')


@dataclass
class Change:
    items: list[dict]  # the subscription's stored items after the change
    lines: list[dict]  # the invoice lines the change causes (not saved)
    resets_cycle: bool  # a new billing period starts now (interval change or billing_cycle_anchor=now)
    invoice_now: bool  # the lines, with pending prorations, are invoiced immediately
    anchor: int


def prorated(amount: int, remaining: int, period: int) -> int:
    """`amount * remaining / period`, computed exactly, then rounded half away from zero to whole minor units."""
    if period <= 0:
        return 0
    exact = Fraction(abs(amount) * remaining, period)
    whole = int(exact + Fraction(1, 2))
    return whole if amount >= 0 else -whole


def plan_change(
    ctx: Context,
    subscription: dict,
    *,
    item_params: list | None,
    proration_behavior: str,
    proration_date: int | None,
    now: int,
    reset_anchor: bool,
    param_prefix: str = '',
) -> Change:
    """Price a change of items (or a reset of the billing cycle) made at `now`, prorated at `proration_date`.

    `param_prefix` names the params in errors (`subscription_details` for previews).
    """
    old_items = subscription['items']['data']
    start, end = old_items[0]['current_period_start'], old_items[0]['current_period_end']
    new_items = apply_item_params(
        ctx, subscription['id'], old_items, item_params or [], period=(start, end), now=now,
        param_prefix=param_prefix,
    )  # fmt: skip
    old_recurring = _recurring_of(ctx, old_items)
    new_recurring = _recurring_of(ctx, new_items)
    trialing = subscription['status'] == 'trialing'
    resets = not trialing and (reset_anchor or _cycle_key(old_recurring) != _cycle_key(new_recurring))
    when = now if proration_date is None else proration_date
    if not trialing and not start <= when <= end:
        raise invalid(
            'The proration_date must be within the current billing period of the subscription.',
            param=_param(param_prefix, 'proration_date'),
        )
    prorate = proration_behavior != 'none' and not trialing
    lines: list[dict] = []
    anchor = subscription['billing_cycle_anchor']
    if resets:
        anchor = now
        new_end = add_intervals(now, new_recurring, 1)
        for item in old_items:
            if prorate:
                lines.append(proration_line(ctx, subscription, item, when, end, credit=True))
        for item in new_items:
            item['current_period_start'], item['current_period_end'] = now, new_end
            lines.append(cycle_line(ctx, subscription, item, now, new_end))
    elif prorate:
        old_by_id = {item['id']: item for item in old_items}
        new_by_id = {item['id']: item for item in new_items}
        for item_id in [*old_by_id, *(key for key in new_by_id if key not in old_by_id)]:
            old, new = old_by_id.get(item_id), new_by_id.get(item_id)
            if old and new and (old['price'], old['quantity']) == (new['price'], new['quantity']):
                continue
            if old:
                lines.append(proration_line(ctx, subscription, old, when, end, credit=True))
            if new:
                lines.append(proration_line(ctx, subscription, new, when, end, credit=False))
    return Change(
        items=new_items,
        lines=lines,
        resets_cycle=resets,
        invoice_now=resets or (proration_behavior == 'always_invoice' and bool(lines)),
        anchor=anchor,
    )


def apply_item_params(
    ctx: Context,
    subscription_id: str,
    current: list[dict],
    item_params: list,
    *,
    period: tuple[int, int],
    now: int,
    param_prefix: str,
) -> list[dict]:
    """`current` items with `items[n][...]` applied: change price or quantity, add (no id), or delete."""
    items = [dict(item) for item in current]
    by_id = {item['id']: item for item in items}
    items_param = _param(param_prefix, 'items')
    for index, params in enumerate(item_params):
        param = f'{items_param}[{index}]'
        if not isinstance(params, dict):
            raise invalid(f'Invalid hash for parameter: {param}', param=param)
        item_id = get_str(params, 'id')
        if item_id:
            item = by_id.get(item_id)
            if item is None:
                raise invalid(
                    f"Subscription item {item_id} doesn't exist or is not part of this subscription.",
                    param=f'{param}[id]',
                )
            if get_bool(params, 'deleted'):
                items.remove(item)
                continue
        else:
            item = new_item(subscription_id, created=now)
            item['current_period_start'], item['current_period_end'] = period
            items.append(item)
        if price_id := get_str(params, 'price') or get_str(params, 'plan'):
            item['price'] = recurring_price(ctx, price_id, param=f'{param}[price]')['id']
        elif not item.get('price'):
            raise invalid('You must specify a price for a new subscription item.', param=f'{param}[price]')
        quantity = get_int(params, 'quantity', minimum=0)
        if quantity is not None:
            item['quantity'] = quantity
        item['metadata'] = merge_metadata(item.get('metadata'), params.get('metadata'))
    if not items:
        raise invalid('A subscription must have at least one active plan.', param=items_param)
    check_items(ctx, items, param=items_param)
    return items


def new_item(subscription_id: str, *, created: int) -> dict:
    return {
        'id': new_id('si'),
        'object': 'subscription_item',
        'billing_thresholds': None,
        'created': created,
        'current_period_end': None,
        'current_period_start': None,
        'current_trial': None,
        'discounts': [],
        'metadata': {},
        'price': None,
        'quantity': 1,
        'subscription': subscription_id,
        'tax_rates': [],
    }


def anchor_reset(value: object) -> bool:
    # At endive `billing_cycle_anchor` is an object ({type: now|unchanged}); the bare string is accepted too.
    kind = value.get('type') if isinstance(value, dict) else value
    if kind in (None, '', 'unchanged'):
        return False
    if kind == 'now':
        return True
    raise invalid('Invalid billing_cycle_anchor[type]: must be one of now, unchanged', param='billing_cycle_anchor')


def recurring_price(ctx: Context, price_id: str, *, param: str) -> dict:
    price = ctx.load('price', price_id, param=param)
    if not price['active']:
        raise invalid('The price specified is inactive. This field only accepts active prices.', param=param)
    if price['type'] != 'recurring':
        raise invalid(
            'The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.',
            param=param,
        )
    return price


def check_items(ctx: Context, items: list[dict], *, param: str) -> None:
    prices = [ctx.load('price', item['price']) for item in items]
    if len({price['id'] for price in prices}) != len(prices):
        raise invalid('Cannot add multiple subscription items with the same price.', param=param)
    if len({price['currency'] for price in prices}) > 1 or len({_cycle_key(p['recurring']) for p in prices}) > 1:
        raise invalid('Currency and interval fields must match across all prices on this subscription.', param=param)


def cycle_line(ctx: Context, subscription: dict, item: dict, start: int, end: int) -> dict:
    """The regular charge for one item over one billing period."""
    price = ctx.load('price', item['price'])
    unit = f'{format_money(price["unit_amount"], price["currency"])} / {format_interval(price["recurring"])}'
    description = f'{item["quantity"]} × {product_name(ctx, price)} (at {unit})'
    return line(
        subscription, item, price, amount=price['unit_amount'] * item['quantity'], description=description,
        start=start, end=end, proration=False,
    )  # fmt: skip


def trial_line(ctx: Context, subscription: dict, item: dict, start: int, end: int) -> dict:
    price = ctx.load('price', item['price'])
    description = f'Trial period for {product_name(ctx, price)}'
    return line(subscription, item, price, amount=0, description=description, start=start, end=end, proration=False)


def line(
    subscription: dict, item: dict, price: dict, *, amount: int, description: str, start: int, end: int, proration: bool
) -> dict:
    quantity = item['quantity']
    unit_decimal = str((Decimal(amount) / quantity).quantize(Decimal('1e-12')).normalize()) if quantity else '0'
    return {
        'id': new_id('il'),
        'object': 'line_item',
        'amount': amount,
        'currency': price['currency'],
        'description': description,
        'discount_amounts': [],
        'discountable': True,
        'discounts': [],
        'invoice': None,
        'livemode': False,
        'metadata': dict(item.get('metadata') or {}) if not proration else {},
        'parent': {
            'type': 'subscription_item_details',
            'invoice_item_details': None,
            'subscription_item_details': {
                'invoice_item': None,
                'proration': proration,
                'proration_details': {'credited_items': None},
                'subscription': subscription['id'],
                'subscription_item': item['id'],
            },
        },
        'period': {'end': end, 'start': start},
        'pretax_credit_amounts': [],
        'pricing': {
            'type': 'price_details',
            'price_details': {'price': price['id'], 'product': price['product']},
            'unit_amount_decimal': str(price['unit_amount']) if not proration else unit_decimal,
        },
        'quantity': quantity,
        'quantity_decimal': str(quantity),
        'subscription': subscription['id'],
        'subtotal': amount,
        'taxes': [],
    }


def product_name(ctx: Context, price: dict) -> str:
    product = ctx.store.get(price['product'], 'product')
    return product['name'] if product else price['product']


def next_period_end(subscription: dict, recurring: dict, start: int) -> int:
    return period_end_after(subscription['billing_cycle_anchor'], recurring, start)


def proration_line(ctx: Context, subscription: dict, item: dict, when: int, end: int, *, credit: bool) -> dict:
    price = ctx.load('price', item['price'])
    full = price['unit_amount'] * item['quantity']
    amount = prorated(full, end - when, end - item['current_period_start'])
    quantity = f'{item["quantity"]} × ' if item['quantity'] != 1 else ''
    what = 'Unused time on' if credit else 'Remaining time on'
    description = f'{what} {quantity}{product_name(ctx, price)} after {format_date(when)}'
    return line(
        subscription, item, price, amount=-amount if credit else amount, description=description, start=when,
        end=end, proration=True,
    )  # fmt: skip


def _recurring_of(ctx: Context, items: list[dict]) -> dict:
    return ctx.load('price', items[0]['price'])['recurring']


def _cycle_key(recurring: dict) -> tuple[str, int]:
    return recurring['interval'], recurring.get('interval_count', 1)


def _param(prefix: str, name: str) -> str:
    return f'{prefix}[{name}]' if prefix else name

"""Prices: one-time or recurring, per unit; create, retrieve, update (incl. lookup keys), list."""

import time

from ..context import Context
from ..errors import invalid
from ..handlers import retriever, string_filters
from ..ids import new_id
from ..listing import paged
from ..params import get_bool, get_dict, get_int, get_str, get_strings, merge_metadata
from ..router import Route
from ..store import Not
from . import products

INTERVALS = ('day', 'week', 'month', 'year')


# Stripe's longest billing interval is three years.
_MAX_INTERVALS = {'day': 1095, 'week': 156, 'month': 36, 'year': 3}


def create(ctx: Context, params: dict) -> dict:
    currency = get_str(params, 'currency', required=True).lower()
    product_id = get_str(params, 'product')
    if product_data := get_dict(params, 'product_data'):
        product_id = products.create(ctx, product_data)['id']
    elif not product_id:
        raise invalid('You must specify either `product` or `product_data` when creating a price.', param='product')
    else:
        ctx.load('product', product_id, param='product')
    unit_amount = get_int(params, 'unit_amount', minimum=0, maximum=99999999)
    if unit_amount is None:
        raise invalid(
            'You must specify `unit_amount` (the emulator only supports per-unit prices).', param='unit_amount'
        )
    recurring = _recurring(get_dict(params, 'recurring'))
    price = {
        'id': new_id('price'),
        'object': 'price',
        'active': get_bool(params, 'active', default=True),
        'billing_scheme': 'per_unit',
        'created': int(time.time()),
        'currency': currency,
        'custom_unit_amount': None,
        'livemode': False,
        'lookup_key': None,
        'metadata': merge_metadata({}, params.get('metadata')),
        'nickname': get_str(params, 'nickname'),
        'product': product_id,
        'recurring': recurring,
        'tax_behavior': get_str(params, 'tax_behavior') or 'unspecified',
        'tiers_mode': None,
        'transform_quantity': None,
        'type': 'recurring' if recurring else 'one_time',
        'unit_amount': unit_amount,
        'unit_amount_decimal': str(unit_amount),
    }
    _set_lookup_key(ctx, price, get_str(params, 'lookup_key'), transfer=get_bool(params, 'transfer_lookup_key'))
    return ctx.save_and_emit('price.created', price)


retrieve = retriever('price')


def update(ctx: Context, params: dict, price: str) -> dict:
    doc = ctx.load('price', price)
    before = ctx.snapshot(doc)
    if (active := get_bool(params, 'active')) is not None:
        doc['active'] = active
    for key in ('nickname', 'tax_behavior'):
        if key in params:
            doc[key] = get_str(params, key)
    if 'lookup_key' in params:
        _set_lookup_key(ctx, doc, get_str(params, 'lookup_key'), transfer=get_bool(params, 'transfer_lookup_key'))
    doc['metadata'] = merge_metadata(doc['metadata'], params.get('metadata'))
    return ctx.save_and_emit('price.updated', doc, before)


def list_prices(ctx: Context, params: dict) -> dict:
    filters: dict = {}
    if (active := get_bool(params, 'active')) is not None:
        filters['active'] = active
    filters |= string_filters(params, 'product', 'currency', 'type')
    if lookup_keys := get_strings(params, 'lookup_keys'):
        filters['lookup_key'] = lookup_keys
    if interval := (get_dict(params, 'recurring') or {}).get('interval'):
        filters['recurring.interval'] = interval
    return paged(ctx, params, 'price', '/v1/prices', filters)


def _recurring(recurring: dict | None) -> dict | None:
    if recurring is None:
        return None
    interval = get_str(recurring, 'interval', required=True)
    if interval not in INTERVALS:
        raise invalid(
            f'Invalid recurring[interval]: must be one of {", ".join(INTERVALS)}', param='recurring[interval]'
        )
    count = get_int(recurring, 'interval_count', minimum=1) or 1
    if count > _MAX_INTERVALS[interval]:
        raise invalid(
            'The maximum billing interval is three years (3 years, 36 months, 156 weeks or 1095 days).',
            param='recurring[interval_count]',
        )
    return {
        'interval': interval,
        'interval_count': count,
        'meter': None,
        'trial_period_days': get_int(recurring, 'trial_period_days', minimum=0, maximum=730),
        'usage_type': 'licensed',
    }


def _set_lookup_key(ctx: Context, price: dict, lookup_key: str | None, *, transfer: bool | None) -> None:
    if lookup_key:
        for holder in ctx.store.find('price', {'lookup_key': lookup_key, 'id': Not(price['id'])}):
            if not transfer:
                raise invalid(f'A price (`{holder["id"]}`) already uses that lookup key.', param='lookup_key')
            holder['lookup_key'] = None
            ctx.save(holder)
    price['lookup_key'] = lookup_key


ROUTES = [
    Route('POST', '/v1/prices', create, 'PriceCreateParams'),
    Route('GET', '/v1/prices', list_prices, 'PriceListParams'),
    Route('GET', '/v1/prices/{price}', retrieve, 'PriceRetrieveParams'),
    Route('POST', '/v1/prices/{price}', update, 'PriceUpdateParams'),
]

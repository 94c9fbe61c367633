"""Products: create, retrieve, update, list."""

import time

from ..context import Context
from ..handlers import retriever
from ..ids import new_id
from ..listing import paged
from ..params import get_bool, get_dicts, get_str, get_strings, merge_metadata
from ..router import Route


def create(ctx: Context, params: dict) -> dict:
    now = int(time.time())
    product = {
        'id': get_str(params, 'id') or new_id('prod'),
        'object': 'product',
        'tax_details': None,
        'active': get_bool(params, 'active', default=True),
        'created': now,
        'default_price': None,
        'description': get_str(params, 'description'),
        'images': get_strings(params, 'images') or [],
        'livemode': False,
        'marketing_features': [
            {'name': feature.get('name')} for feature in get_dicts(params, 'marketing_features') or []
        ],
        'metadata': merge_metadata({}, params.get('metadata')),
        'name': get_str(params, 'name', required=True),
        'package_dimensions': None,
        'shippable': None,
        'statement_descriptor': get_str(params, 'statement_descriptor'),
        'tax_code': get_str(params, 'tax_code'),
        'type': 'service',
        'unit_label': get_str(params, 'unit_label'),
        'updated': now,
        'url': get_str(params, 'url'),
    }
    return ctx.save_and_emit('product.created', product)


retrieve = retriever('product')


def update(ctx: Context, params: dict, id: str) -> dict:
    product = ctx.load('product', id)
    before = ctx.snapshot(product)
    for key in ('name', 'description', 'statement_descriptor', 'unit_label', 'url', 'tax_code'):
        if key in params:
            product[key] = get_str(params, key)
    if (active := get_bool(params, 'active')) is not None:
        product['active'] = active
    if 'default_price' in params:
        price_id = get_str(params, 'default_price')
        product['default_price'] = ctx.load('price', price_id, param='default_price')['id'] if price_id else None
    if 'images' in params:
        product['images'] = get_strings(params, 'images') or []
    product['metadata'] = merge_metadata(product['metadata'], params.get('metadata'))
    product['updated'] = int(time.time())
    return ctx.save_and_emit('product.updated', product, before)


def list_products(ctx: Context, params: dict) -> dict:
    filters: dict = {}
    if (active := get_bool(params, 'active')) is not None:
        filters['active'] = active
    if ids := get_strings(params, 'ids'):
        filters['id'] = ids
    return paged(ctx, params, 'product', '/v1/products', filters)


ROUTES = [
    Route('POST', '/v1/products', create, 'ProductCreateParams'),
    Route('GET', '/v1/products', list_products, 'ProductListParams'),
    Route('GET', '/v1/products/{id}', retrieve, 'ProductRetrieveParams'),
    Route('POST', '/v1/products/{id}', update, 'ProductUpdateParams'),
]

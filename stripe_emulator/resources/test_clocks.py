"""Test clocks: customers created with `test_clock` live in the clock's frozen time.

Advancing is synchronous here: the response already says `ready`, with every renewal, trial end and
scheduled cancellation up to the new time processed (Stripe answers `advancing` and finishes later).
"""

import time

from ..clock import advance_clock
from ..context import Context
from ..errors import invalid
from ..handlers import lister, retriever
from ..ids import new_id
from ..params import get_str, get_timestamp
from ..router import Route

_LIFETIME_SECONDS = 30 * 86400


def create(ctx: Context, params: dict) -> dict:
    now = int(time.time())
    clock = {
        'id': new_id('clock'),
        'object': 'test_helpers.test_clock',
        'created': now,
        'deletes_after': now + _LIFETIME_SECONDS,
        'frozen_time': get_timestamp(params, 'frozen_time', required=True),
        'livemode': False,
        'name': get_str(params, 'name'),
        'status': 'ready',
        'status_details': {},
    }
    return ctx.save_and_emit('test_helpers.test_clock.created', clock)


retrieve = retriever('test_helpers.test_clock')
list_clocks = lister('test_helpers.test_clock', '/v1/test_helpers/test_clocks')


def advance(ctx: Context, params: dict, test_clock: str) -> dict:
    clock = ctx.load('test_helpers.test_clock', test_clock)
    target = get_timestamp(params, 'frozen_time', required=True)
    if target <= clock['frozen_time']:
        raise invalid('The frozen_time must be after the current frozen_time of the test clock.', param='frozen_time')
    ctx.emit('test_helpers.test_clock.advancing', {**clock, 'status': 'advancing'})
    advance_clock(ctx, clock, target)
    ctx.emit('test_helpers.test_clock.ready', clock)
    return clock


def delete(ctx: Context, params: dict, test_clock: str) -> dict:
    """Deleting a clock deletes everything that lived in it, as on Stripe."""
    clock = ctx.load('test_helpers.test_clock', test_clock)
    for object_type in ('subscription', 'invoice', 'invoiceitem'):
        for doc in ctx.store.find(object_type, {'test_clock': test_clock}):
            ctx.store.delete(doc['id'])
    for customer in ctx.store.find('customer', {'test_clock': test_clock}):
        customer['deleted'] = True
        ctx.save(customer)
    ctx.store.delete(test_clock)
    ctx.emit('test_helpers.test_clock.deleted', clock)
    return {'id': test_clock, 'object': 'test_helpers.test_clock', 'deleted': True}


ROUTES = [
    Route('POST', '/v1/test_helpers/test_clocks', create, 'test_helpers.TestClockCreateParams'),
    Route('GET', '/v1/test_helpers/test_clocks', list_clocks, 'test_helpers.TestClockListParams'),
    Route('GET', '/v1/test_helpers/test_clocks/{test_clock}', retrieve, 'test_helpers.TestClockRetrieveParams'),
    Route('DELETE', '/v1/test_helpers/test_clocks/{test_clock}', delete, 'test_helpers.TestClockDeleteParams'),
    Route('POST', '/v1/test_helpers/test_clocks/{test_clock}/advance', advance, 'test_helpers.TestClockAdvanceParams'),
]

"""Disputes: raised by Stripe's dispute test cards as soon as the charge succeeds; read them, or accept one (close)."""

from ..context import Context
from ..errors import invalid
from ..listing import paged
from ..params import get_str
from ..router import Route

# What closing (accepting) a dispute in each open status leads to.
_CLOSED = {'needs_response': 'lost', 'under_review': 'lost', 'warning_needs_response': 'warning_closed',
           'warning_under_review': 'warning_closed'}  # fmt: skip


def retrieve(ctx: Context, params: dict, dispute: str) -> dict:
    return ctx.load('dispute', dispute)


def list_disputes(ctx: Context, params: dict) -> dict:
    filters: dict = {}
    for key in ('charge', 'payment_intent'):
        if value := get_str(params, key):
            filters[key] = value
    return paged(ctx, params, 'dispute', '/v1/disputes', filters)


def close(ctx: Context, params: dict, dispute: str) -> dict:
    """Accept the dispute: the money stays with the cardholder, and the dispute is lost."""
    doc = ctx.load('dispute', dispute)
    if doc['status'] not in _CLOSED:
        raise invalid(f'This dispute is already closed (its status is {doc["status"]}).')
    doc['status'] = _CLOSED[doc['status']]
    ctx.save(doc)
    ctx.emit('charge.dispute.closed', doc)
    return doc


ROUTES = [
    Route('GET', '/v1/disputes', list_disputes, 'DisputeListParams'),
    Route('GET', '/v1/disputes/{dispute}', retrieve, 'DisputeRetrieveParams'),
    Route('POST', '/v1/disputes/{dispute}/close', close, 'DisputeCloseParams'),
]

"""Disputes: raised by Stripe's dispute test cards as soon as the charge succeeds; read them, or accept one (close)."""

from ..context import Context
from ..errors import invalid
from ..handlers import lister, retriever
from ..router import Route

# What closing (accepting) a dispute in each open status leads to.
_CLOSED = {'needs_response': 'lost', 'under_review': 'lost', 'warning_needs_response': 'warning_closed',
           'warning_under_review': 'warning_closed'}  # fmt: skip


retrieve = retriever('dispute')
list_disputes = lister('dispute', '/v1/disputes', 'charge', 'payment_intent')


def close(ctx: Context, params: dict, dispute: str) -> dict:
    """Accept the dispute: the money stays with the cardholder, and the dispute is lost."""
    doc = ctx.load('dispute', dispute)
    if doc['status'] not in _CLOSED:
        raise invalid(f'This dispute is already closed (its status is {doc["status"]}).')
    doc['status'] = _CLOSED[doc['status']]
    return ctx.save_and_emit('charge.dispute.closed', doc)


ROUTES = [
    Route('GET', '/v1/disputes', list_disputes, 'DisputeListParams'),
    Route('GET', '/v1/disputes/{dispute}', retrieve, 'DisputeRetrieveParams'),
    Route('POST', '/v1/disputes/{dispute}/close', close, 'DisputeCloseParams'),
]

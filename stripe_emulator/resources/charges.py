"""Charges over the API: read-only (payment attempts make them), and the Refunds, Disputes and Mandates around them."""

from ..context import Context
from ..listing import paged
from ..params import get_str
from ..router import Route


def retrieve(ctx: Context, params: dict, charge: str) -> dict:
    return ctx.load('charge', charge)


def list_charges(ctx: Context, params: dict) -> dict:
    filters: dict = {}
    for key in ('customer', 'payment_intent', 'transfer_group'):
        if value := get_str(params, key):
            filters[key] = value
    return paged(ctx, params, 'charge', '/v1/charges', filters)


def retrieve_mandate(ctx: Context, params: dict, mandate: str) -> dict:
    return ctx.load('mandate', mandate)


ROUTES = [
    Route('GET', '/v1/charges', list_charges, 'ChargeListParams'),
    Route('GET', '/v1/charges/{charge}', retrieve, 'ChargeRetrieveParams'),
    Route('GET', '/v1/mandates/{mandate}', retrieve_mandate, 'MandateRetrieveParams'),
]

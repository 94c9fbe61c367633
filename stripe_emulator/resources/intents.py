"""PaymentIntents and SetupIntents over the API: read-only (they are made by Checkout and invoice payments)."""

from ..context import Context
from ..listing import paged
from ..params import get_str
from ..router import Route


def retrieve_payment_intent(ctx: Context, params: dict, intent: str) -> dict:
    return ctx.load('payment_intent', intent)


def list_payment_intents(ctx: Context, params: dict) -> dict:
    filters = {'customer': customer} if (customer := get_str(params, 'customer')) else {}
    return paged(ctx, params, 'payment_intent', '/v1/payment_intents', filters)


def retrieve_setup_intent(ctx: Context, params: dict, intent: str) -> dict:
    return ctx.load('setup_intent', intent)


def list_setup_intents(ctx: Context, params: dict) -> dict:
    filters: dict = {}
    if customer := get_str(params, 'customer'):
        filters['customer'] = customer
    if payment_method := get_str(params, 'payment_method'):
        filters['payment_method'] = payment_method
    return paged(ctx, params, 'setup_intent', '/v1/setup_intents', filters)


ROUTES = [
    Route('GET', '/v1/payment_intents', list_payment_intents, 'PaymentIntentListParams'),
    Route('GET', '/v1/payment_intents/{intent}', retrieve_payment_intent, 'PaymentIntentRetrieveParams'),
    Route('GET', '/v1/setup_intents', list_setup_intents, 'SetupIntentListParams'),
    Route('GET', '/v1/setup_intents/{intent}', retrieve_setup_intent, 'SetupIntentRetrieveParams'),
]

"""The API's resources; each module lists its routes."""

from .. import events
from ..router import Route
from . import (
    charges,
    checkout,
    customers,
    disputes,
    intents,
    invoices,
    payment_methods,
    prices,
    products,
    refunds,
    subscription_schedules,
    subscriptions,
    test_clocks,
)

ROUTES: list[Route] = [
    *products.ROUTES,
    *prices.ROUTES,
    *customers.ROUTES,
    *payment_methods.ROUTES,
    *checkout.ROUTES,
    *intents.ROUTES,
    *charges.ROUTES,
    *refunds.ROUTES,
    *disputes.ROUTES,
    *subscriptions.ROUTES,
    *subscription_schedules.ROUTES,
    *invoices.ROUTES,
    *test_clocks.ROUTES,
    Route('GET', '/v1/events', events.list_events, 'EventListParams'),
    Route('GET', '/v1/events/{id}', events.retrieve, 'EventRetrieveParams'),
    # Emulator-only: deliver an event to the webhook endpoint once more.
    Route('POST', '/v1/test_helpers/events/{id}/resend', events.resend),
]

"""Stripe webhooks: verify the signature, store the event, then let its handler overwrite the mirror from Stripe.

The event's own payload is never trusted for state: each handler re-fetches the object, so events may arrive late,
twice or out of order. A handler that fails leaves no partial writes (its writes share one transaction) and
answers 500, so Stripe retries it.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from db.models import StripeEvent
from services.auth import now
from services.billing import Billing
from services.billing.gateway import InvalidSignature

log = logging.getLogger('portico.webhooks')

Handler = Callable[[Billing, dict], Awaitable[None]]


@dataclass(frozen=True)
class WebhookResult:
    status: int
    message: str


async def _checkout_completed(billing: Billing, event: dict) -> None:
    await billing.fulfill_checkout(event['data']['object']['id'])


async def _async_payment_failed(billing: Billing, event: dict) -> None:
    await billing.checkout_payment_failed(event['data']['object']['id'])


async def _charge_reversed(billing: Billing, event: dict) -> None:
    await billing.charge_reversed(event['data']['object']['id'])


async def _dispute_closed(billing: Billing, event: dict) -> None:
    await billing.charge_reversed(event['data']['object']['charge'])


async def _subscription_changed(billing: Billing, event: dict) -> None:
    await billing.sync_subscription(event['data']['object'])


async def _invoice_settled(billing: Billing, event: dict) -> None:
    invoice = event['data']['object']
    details = (invoice.get('parent') or {}).get('subscription_details') or {}
    if details.get('subscription'):
        hint = {'id': details['subscription'], 'customer': invoice['customer'], 'metadata': details.get('metadata')}
        await billing.sync_subscription(hint)


async def _customer_changed(billing: Billing, event: dict) -> None:
    await billing.customer_changed(event['data']['object']['id'])


HANDLERS: dict[str, Handler] = {
    'checkout.session.completed': _checkout_completed,
    'checkout.session.async_payment_succeeded': _checkout_completed,
    'checkout.session.async_payment_failed': _async_payment_failed,
    'charge.refunded': _charge_reversed,
    'charge.dispute.closed': _dispute_closed,
    'customer.subscription.created': _subscription_changed,
    'customer.subscription.updated': _subscription_changed,
    'customer.subscription.deleted': _subscription_changed,
    'invoice.paid': _invoice_settled,
    'invoice.payment_failed': _invoice_settled,
    'customer.updated': _customer_changed,
    'payment_method.attached': _customer_changed,
    'payment_method.detached': _customer_changed,
}


async def receive(billing: Billing, payload: bytes, signature: str | None) -> WebhookResult:
    try:
        event = billing.gateway.verify_event(payload, signature)
    except InvalidSignature as error:
        log.warning('webhook refused, bad signature: %s', error)
        return WebhookResult(400, 'invalid signature')
    try:
        record = await StripeEvent.create(id=event['id'], type=event['type'], payload=json.loads(payload))
    except IntegrityError:
        record = await StripeEvent.get(id=event['id'])
        if record.processed_at is not None:
            return WebhookResult(200, 'duplicate, ignored')
    handler = HANDLERS.get(event['type'])
    try:
        if handler is not None:
            await handler(billing, event)
    except Exception as error:
        log.exception('webhook %s (%s) failed; Stripe will retry', event['id'], event['type'])
        await StripeEvent.filter(id=record.id).update(attempts=record.attempts + 1, last_error=str(error)[:2000])
        return WebhookResult(500, 'handler failed')
    await StripeEvent.filter(id=record.id).update(processed_at=now(), attempts=record.attempts + 1, last_error='')
    return WebhookResult(200, 'ok' if handler else 'ignored: no handler for this type')

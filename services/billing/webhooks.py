"""Stripe webhooks: verify the signature, then record the event, let its handler overwrite the mirror from Stripe,
and mark it processed, in one transaction.

The event's own payload is never trusted for state: each handler re-fetches the object, so events may arrive late,
twice or out of order. The payload only says which organization's lock to take: the lock comes before the
transaction (as for every billing write), so a handler never waits for a lock while holding the database. A
handler that fails leaves no writes but the failure's count and message, and answers 500, so Stripe retries it.
Open pages hear of the change once it has committed.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from db.models import BillingAccount, StripeEvent
from services.billing import Billing
from services.billing.context import checkout_owner
from services.billing.gateway import InvalidSignature
from services.billing.notices import note_once
from services.billing.recovery import note_failure
from services.billing.tokens import credit_payment_once, purchased_tokens
from services.events import invoice_paid
from services.moments import now

log = logging.getLogger('portico.webhooks')

Handler = Callable[[Billing, dict], Awaitable[object]]


@dataclass(frozen=True)
class WebhookResult:
    status: int
    message: str


def _object(event: dict) -> dict:
    return event['data']['object']


async def _invoice_settled(billing: Billing, event: dict) -> None:
    invoice = _object(event)
    details = (invoice.get('parent') or {}).get('subscription_details') or {}
    if details.get('subscription'):
        hint = {'id': details['subscription'], 'customer': invoice['customer'], 'metadata': details.get('metadata')}
        await billing.resync.sync(hint)


async def _invoice_failed(billing: Billing, event: dict) -> None:
    """The mirror takes the owed invoice (the banner); the admins are mailed at its first failure only."""
    await _invoice_settled(billing, event)
    invoice = _object(event)
    if invoice.get('billing_reason') == 'subscription_create':
        return  # a first payment fails in front of the admin, at checkout
    account = await BillingAccount.get_or_none(stripe_customer_id=invoice['customer'])
    if account is not None and ((invoice.get('parent') or {}).get('subscription_details') or {}).get('subscription'):
        await note_failure(billing.contexts.events, account.organization_id, invoice['id'])


async def _invoice_paid(billing: Billing, event: dict) -> None:
    """The mirror loses the owed invoice (the banner); a paid invoice with money in it gets its receipt, once."""
    await _invoice_settled(billing, event)
    invoice = await billing.gateway.call('invoices', 'retrieve', _object(event)['id'])
    account = await BillingAccount.get_or_none(stripe_customer_id=invoice['customer'])
    if account is not None and invoice['status'] == 'paid' and invoice['amount_paid'] > 0:
        await note_once(billing.contexts.events, organization_id=account.organization_id, kind='receipt',
                        reference=invoice['id'], topic=invoice_paid(), payload=(account.organization_id,
                                                                                invoice['id']))  # fmt: skip


async def _payment_succeeded(billing: Billing, event: dict) -> None:
    """A purchase with the default card or an auto top-up whose answer Portico never got (a lost response, a
    restart) is credited from here, once."""
    intent = await billing.gateway.call('payment_intents', 'retrieve', _object(event)['id'])
    if not purchased_tokens(intent) or not intent.get('customer'):
        return
    account = await BillingAccount.get_or_none(stripe_customer_id=intent['customer'])
    if account is not None and await credit_payment_once(organization_id=account.organization_id, intent=intent):
        billing.contexts.publish(account.organization_id)


async def _schedule_changed(billing: Billing, event: dict) -> None:
    """A scheduled change came, went or was replaced: the mirror reads the subscription and its schedule again."""
    schedule = _object(event)
    if subscription_id := schedule.get('subscription') or schedule.get('released_subscription'):
        await billing.resync.sync({'id': subscription_id, 'customer': schedule['customer']})


# Every event type Portico acts on; docs/stripe.md lists the same (a test compares the two).
HANDLERS: dict[str, Handler] = {
    'checkout.session.completed': lambda billing, event: billing.checkouts.fulfill(_object(event)['id']),
    'checkout.session.async_payment_succeeded': lambda billing, event: billing.checkouts.fulfill(_object(event)['id']),
    'checkout.session.async_payment_failed': lambda billing, event: billing.checkouts.payment_failed(
        _object(event)['id']
    ),
    'customer.subscription.created': lambda billing, event: billing.resync.sync(_object(event)),
    'customer.subscription.updated': lambda billing, event: billing.resync.sync(_object(event)),
    'customer.subscription.deleted': lambda billing, event: billing.resync.sync(_object(event)),
    'invoice.paid': _invoice_paid,
    'invoice.payment_failed': _invoice_failed,
    'invoice.payment_action_required': _invoice_failed,  # 3-D Secure: "Confirm payment", and the admins are told
    **{
        f'subscription_schedule.{change}': _schedule_changed
        for change in ('updated', 'released', 'canceled', 'completed')
    },  # fmt: skip
    'customer.updated': lambda billing, event: billing.customers.changed(_object(event)['id']),
    'payment_method.attached': lambda billing, event: billing.customers.changed(_object(event)['customer']),
    'payment_method.detached': lambda billing, event: billing.customers.changed(
        _object(event)['customer'] or (event['data'].get('previous_attributes') or {}).get('customer') or ''
    ),
    'payment_intent.succeeded': _payment_succeeded,
    'charge.refunded': lambda billing, event: billing.tokens.charge_reversed(_object(event)['id']),
    'charge.dispute.closed': lambda billing, event: billing.tokens.charge_reversed(_object(event)['charge']),
}


async def receive(billing: Billing, payload: bytes, signature: str | None) -> WebhookResult:
    try:
        event = billing.gateway.verify_event(payload, signature)
    except InvalidSignature as error:
        log.warning('webhook refused, bad signature: %s', error)
        return WebhookResult(400, 'invalid signature')
    if await StripeEvent.exists(id=event['id'], processed_at__not_isnull=True):
        return WebhookResult(200, 'duplicate, ignored')
    handler = HANDLERS.get(event['type'])
    try:
        organization_id = await _organization_of(billing, event) if handler else None
        if organization_id is None:
            processed = await _process(billing, event, payload, handler)
        else:
            async with billing.contexts.exclusive_for(organization_id):
                processed = await _process(billing, event, payload, handler)
    except Exception as error:
        log.exception('webhook %s (%s) failed; Stripe will retry', event['id'], event['type'])
        record, _ = await StripeEvent.get_or_create(id=event['id'], defaults=_record(event, payload))
        await StripeEvent.filter(id=record.id).update(attempts=record.attempts + 1, last_error=str(error)[:2000])
        return WebhookResult(500, 'handler failed')
    if not processed:
        return WebhookResult(200, 'duplicate, ignored')
    return WebhookResult(200, 'ok' if handler else 'ignored: no handler for this type')


async def _process(billing: Billing, event: dict, payload: bytes, handler: Handler | None) -> bool:
    """The record, the handler's writes and `processed_at`, in one transaction; False if processed meanwhile."""
    with billing.contexts.events.deferred():
        async with in_transaction():
            record = await StripeEvent.select_for_update().get_or_none(id=event['id'])
            if record is None:
                record = await StripeEvent.create(id=event['id'], **_record(event, payload))
            elif record.processed_at is not None:
                return False  # a parallel delivery of the same event got here first
            if handler is not None:
                await handler(billing, event)
            await StripeEvent.filter(id=record.id).update(processed_at=now(), attempts=record.attempts + 1,
                                                          last_error='')  # fmt: skip
    return True


def _record(event: dict, payload: bytes) -> dict:
    return {'type': event['type'], 'payload': json.loads(payload)}


async def _organization_of(billing: Billing, event: dict) -> int | None:
    """The organization whose lock a handler will take, from the payload (the handler re-fetches what it uses)."""
    obj, kind = _object(event), event['type']
    if kind.startswith('checkout.session.'):
        return await checkout_owner(obj)
    if kind.startswith('customer.subscription.'):
        return await billing.mirror.organization_of(obj)
    if kind == 'charge.dispute.closed':
        obj = await billing.gateway.call('charges', 'retrieve', obj['charge'])
    customer = obj['id'] if kind == 'customer.updated' else obj.get('customer')
    account = await BillingAccount.get_or_none(stripe_customer_id=customer) if customer else None
    return account.organization_id if account else None

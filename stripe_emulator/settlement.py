"""Delayed payments (SEPA Direct Debit): a payment is `processing` when it is taken and settles later, once.

When it is taken, the PaymentIntent gets its due time (`_settle_at`: `async_payment_delay_seconds` later, in its
customer's test-clock time if the customer has a clock) and the outcome its test IBAN stands for. Both live in the
store, so a restart loses nothing. The emulator's background sweep settles real-time payments once they are due
(`clock.renew_real_time`); advancing a test clock settles that clock's payments in time order with its renewals.
Settling re-reads the PaymentIntent inside the caller's transaction and only moves one that is still `processing`, so
a payment settles exactly once however many sweeps look at it.
"""

import time

from . import charges, sepa
from .context import Context


def schedule(ctx: Context, intent: dict, pm: dict, *, customer: str | None) -> None:
    """Mark a new `processing` PaymentIntent (unsaved) to settle after the configured delay."""
    clock = (ctx.store.get(customer, 'customer') or {}).get('test_clock') if customer else None
    base = ctx.clock_now(clock) if clock else time.time()
    intent['_settle_at'] = base + ctx.config.async_payment_delay_seconds
    intent['_settles'] = dict(pm.get('_settles') or {'outcome': 'succeeded'})
    intent['_test_clock'] = clock
    ctx.emulator.wake_sweeper()


def due(ctx: Context, clock_id: str | None, until: float) -> list[tuple[float, dict]]:
    """The payments of a test clock (or of real time, `clock_id=None`) due by `until`, oldest due first."""
    pending = ctx.store.find('payment_intent', {'status': 'processing', '_test_clock': clock_id}, oldest_first=True)
    found = [(intent['_settle_at'], intent) for intent in pending if intent.get('_settle_at') is not None]
    return sorted((pair for pair in found if pair[0] <= until), key=lambda pair: pair[0])


def next_due(ctx: Context) -> float | None:
    """When the next real-time payment falls due, so the sweep can wake up for it."""
    pending = ctx.store.find('payment_intent', {'status': 'processing', '_test_clock': None})
    times = [intent['_settle_at'] for intent in pending if intent.get('_settle_at') is not None]
    return min(times) if times else None


def settle(ctx: Context, intent_id: str, *, now: int) -> None:
    """The bank's answer arrives: the payment succeeds (maybe disputed at once) or fails."""
    intent = ctx.store.get(intent_id, 'payment_intent')
    if intent is None or intent['status'] != 'processing':
        return  # settled already (by another sweep, or before a restart)
    charge = ctx.load('charge', intent['latest_charge'])
    outcome = intent['_settles']
    succeeded = outcome['outcome'] in ('succeeded', 'disputed')
    if succeeded:
        charges.settle(ctx, charge)
        intent.update(status='succeeded', amount_received=intent['amount'])
        ctx.save_and_emit('payment_intent.succeeded', intent)
        if outcome['outcome'] == 'disputed':
            charges.open_dispute(ctx, charge, reason='fraudulent', status='needs_response', now=now)
    else:
        charges.fail(ctx, charge, code=outcome.get('failure_code'), message=outcome.get('failure_message'))
        pm = ctx.store.get(intent['payment_method'], 'payment_method')
        intent.update(status='requires_payment_method', payment_method=None)
        intent['last_payment_error'] = {
            'charge': charge['id'],
            'code': 'payment_intent_payment_attempt_failed',
            'decline_code': 'generic_decline',
            'doc_url': 'https://stripe.com/docs/error-codes/payment-intent-payment-attempt-failed',
            'message': sepa.ATTEMPT_FAILED,
            'payment_method': {'id': pm['id'], 'object': 'payment_method', 'type': pm['type']} if pm else None,
            'payment_method_type': 'sepa_debit',
            'type': 'invalid_request_error',
        }
        ctx.save_and_emit('payment_intent.payment_failed', intent)
    # Imported here: both of them create PaymentIntents, whose module needs this one.
    from . import checkout_flow, invoice_payments

    if intent.get('_invoice'):
        invoice_payments.payment_settled(ctx, intent['_invoice'], succeeded=succeeded, now=now)
    if intent.get('_checkout_session'):
        checkout_flow.payment_settled(ctx, intent['_checkout_session'], intent, succeeded=succeeded, now=now)

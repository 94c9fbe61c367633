"""3-D Secure after the fact: a PaymentIntent left `requires_action` by an off-session payment (a renewal, a change,
an invoice paid over the API) is completed or failed by the cardholder on the hosted authentication page.

Completing it charges the card; the invoice it pays is paid (`invoice.paid`), its subscription `active`, and a change
held back by `payment_behavior=pending_if_incomplete` is applied. Failing it fails the payment
(`payment_intent.payment_failed`, `invoice.payment_failed`); the invoice stays open.
"""

from . import invoice_payments
from .cards import authentication_failed, charge_outcome
from .context import Context
from .errors import invalid
from .intents import attempt


def finish(ctx: Context, intent: dict, *, completed: bool) -> None:
    if intent['status'] != 'requires_action':
        raise invalid(f'This PaymentIntent is {intent["status"]}: there is nothing to authenticate.')
    pm = ctx.store.get(intent['payment_method'] or '', 'payment_method')
    now = ctx.now(intent['customer'])
    invoice = ctx.store.get(intent.get('_invoice') or '', 'invoice')
    subscription = invoice_payments.subscription_of(ctx, invoice) if invoice else None
    before = ctx.snapshot(subscription) if subscription else None
    error = charge_outcome(pm) if completed else authentication_failed()
    attempt(ctx, intent, pm, now=now, error=error)
    if invoice is not None and invoice['status'] == 'open':
        if intent['status'] == 'succeeded':
            invoice_payments.mark_paid(ctx, invoice, now=now, subscription=subscription)
        elif intent['status'] == 'requires_payment_method':
            ctx.save_and_emit('invoice.payment_failed', invoice)
    if subscription is not None:
        ctx.save_and_emit_change('customer.subscription.updated', subscription, before)

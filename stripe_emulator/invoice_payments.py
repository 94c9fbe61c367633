"""Collecting an invoice's payment: charging it, settling delayed payments, recording payments made elsewhere."""

from . import dunning, pending
from .cards import charge_outcome, needs_authentication
from .context import Context
from .errors import StripeError, authentication_required, invalid
from .expand import includable
from .ids import random_token
from .intents import new_payment_intent
from .listing import list_object


def attempt_payment(
    ctx: Context,
    invoice: dict,
    *,
    now: int,
    payment_method: str | None = None,
    subscription: dict | None = None,
    automatic: bool = False,
) -> StripeError | None:
    """Charge an open invoice; on success it is paid. `subscription`'s status follows the outcome (unsaved).

    An `automatic` attempt (a renewal, a change, a retry) that fails schedules the next retry (`dunning`).
    """
    if invoice['status'] != 'open':
        raise invalid(f'Invoice is already {invoice["status"]}.', code='invoice_not_open')
    if invoice['amount_remaining'] == 0:
        mark_paid(ctx, invoice, now=now, subscription=subscription)
        return None
    pm_id = payment_method or _default_payment_method(ctx, invoice, subscription)
    pm = ctx.store.get(pm_id, 'payment_method') if pm_id else None
    invoice['attempt_count'] += 1
    invoice['attempted'] = True
    if pm is None or pm['customer'] != invoice['customer']:
        error: StripeError | None = invalid(
            'This customer has no attached payment source or default payment method. Please consider adding a '
            'default payment method.',
            code='resource_missing',
        )
    else:
        error = charge_outcome(pm)
    # Off session (a renewal, a change, invoices.pay over the API), a card that asks for 3-D Secure waits for it.
    action = error is None and pm['id'] not in ctx.authenticated and needs_authentication(pm, off_session=True)
    intent = new_payment_intent(
        ctx,
        amount=invoice['amount_remaining'],
        currency=invoice['currency'],
        customer=invoice['customer'],
        payment_method=pm['id'] if pm else None,
        description=_payment_description(invoice['billing_reason']),
        now=now,
        error=error,
        invoice=invoice['id'],
        requires_action=action,
    )
    invoice['_payments'].append({'id': f'inpay_{random_token(24)}', 'payment_intent': intent['id'], 'created': now})
    if action:
        if automatic:
            dunning.schedule_next(ctx, invoice, now=now)
        ctx.save_and_emit('invoice.payment_action_required', invoice)
        if subscription is not None and subscription['status'] in ('active', 'trialing'):
            subscription['status'] = 'past_due'
        return authentication_required()
    if error is not None:
        if automatic:
            dunning.schedule_next(ctx, invoice, now=now)
        ctx.save_and_emit('invoice.payment_failed', invoice)
        if subscription is not None and subscription['status'] in ('active', 'trialing'):
            subscription['status'] = 'past_due'
        return error
    if intent['status'] == 'processing':
        # A bank debit: the invoice stays open until the payment settles (`payment_settled`); a new subscription
        # stays `incomplete` meanwhile, as on Stripe.
        ctx.save(invoice)
        return None
    mark_paid(ctx, invoice, now=now, subscription=subscription)
    return None


def subscription_of(ctx: Context, invoice: dict) -> dict | None:
    subscription_id = ((invoice.get('parent') or {}).get('subscription_details') or {}).get('subscription')
    return ctx.store.get(subscription_id, 'subscription') if subscription_id else None


def payment_settled(ctx: Context, invoice_id: str, *, succeeded: bool, now: int) -> None:
    """A delayed payment of the invoice settled: it is paid, or the attempt failed like a declined card."""
    invoice = ctx.store.get(invoice_id, 'invoice')
    if invoice is None or invoice['status'] != 'open':
        return  # voided (or paid otherwise) while the payment was processing
    subscription = subscription_of(ctx, invoice)
    before = ctx.snapshot(subscription) if subscription else None
    if succeeded:
        mark_paid(ctx, invoice, now=now, subscription=subscription)
    else:
        ctx.emit('invoice.payment_failed', invoice)
        if subscription is not None and subscription['status'] in ('active', 'trialing'):
            subscription['status'] = 'past_due'
    if subscription is not None and ctx.snapshot(subscription) != before:
        ctx.save_and_emit('customer.subscription.updated', subscription, before)


def record_payment(ctx: Context, invoice: dict, intent: dict, *, now: int) -> None:
    """Mark an open invoice paid by a PaymentIntent that already succeeded (Checkout in payment mode)."""
    invoice['_payments'].append({'id': f'inpay_{random_token(24)}', 'payment_intent': intent['id'], 'created': now})
    invoice['attempt_count'] += 1
    invoice['attempted'] = True
    mark_paid(ctx, invoice, now=now, subscription=None)


def paid_out_of_band(ctx: Context, invoice: dict, *, now: int, subscription: dict | None) -> None:
    if invoice['status'] != 'open':
        raise invalid(f'Invoice is already {invoice["status"]}.', code='invoice_not_open')
    invoice['amount_paid_off_stripe'] = invoice['amount_remaining']
    mark_paid(ctx, invoice, now=now, subscription=subscription)


@includable('invoice', 'payments')
def _payments(ctx: Context, invoice: dict) -> dict:
    stored = ctx.store.get(invoice['id'], 'invoice') or {}
    payments = []
    for payment in stored.get('_payments', []):
        intent = ctx.store.get(payment['payment_intent'], 'payment_intent') or {}
        paid = intent.get('status') == 'succeeded'
        payments.append({
            'id': payment['id'],
            'object': 'invoice_payment',
            'amount_paid': intent.get('amount_received') if paid else None,
            'amount_requested': intent.get('amount', 0),
            'created': payment['created'],
            'currency': invoice['currency'],
            'invoice': invoice['id'],
            'is_default': True,
            'livemode': False,
            'payment': {'type': 'payment_intent', 'payment_intent': payment['payment_intent']},
            'status': 'paid' if paid else 'open',
            'status_transitions': {'canceled_at': None, 'paid_at': payment['created'] if paid else None},
        })  # fmt: skip
    return list_object(payments, f'/v1/invoice_payments?invoice={invoice["id"]}')


def mark_paid(ctx: Context, invoice: dict, *, now: int, subscription: dict | None) -> None:
    invoice['amount_paid'] += invoice['amount_remaining']
    invoice['amount_remaining'] = 0
    invoice['status'] = 'paid'
    invoice['status_transitions']['paid_at'] = now
    invoice['next_payment_attempt'] = None
    ctx.save_and_emit('invoice.paid', invoice)
    ctx.emit('invoice.payment_succeeded', invoice)
    if subscription is not None and subscription['status'] in ('incomplete', 'past_due', 'unpaid'):
        subscription['status'] = 'active'
    if subscription is not None:
        pending.apply(ctx, subscription, invoice)


def _default_payment_method(ctx: Context, invoice: dict, subscription: dict | None) -> str | None:
    if subscription is not None and subscription.get('default_payment_method'):
        return subscription['default_payment_method']
    customer = ctx.load('customer', invoice['customer'])
    return customer['invoice_settings']['default_payment_method']


def _payment_description(billing_reason: str) -> str:
    return {
        'subscription_create': 'Subscription creation',
        'subscription_cycle': 'Subscription update',
        'subscription_update': 'Subscription update',
    }.get(billing_reason, 'Payment for Invoice')

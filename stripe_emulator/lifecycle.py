"""What happens to a subscription over its life: it starts, renews, leaves its trial, is canceled.

The API handlers, the hosted checkout and the test clocks all go through these functions.
"""

from . import invoice_items, invoice_payments, invoicing, scheduling
from .billing import apply_item_params, cycle_line, next_period_end, trial_line
from .context import Context
from .errors import invalid
from .ids import new_id
from .listing import list_object
from .params import merge_metadata

PAYMENT_BEHAVIORS = ('allow_incomplete', 'default_incomplete', 'error_if_incomplete', 'pending_if_incomplete')


def start(
    ctx: Context,
    *,
    customer: dict,
    item_params: list,
    default_payment_method: str | None,
    metadata: dict | None,
    trial_end: int | None,
    payment_behavior: str,
    now: int,
    description: str | None = None,
) -> dict:
    """Create a subscription and collect its first invoice (a zero invoice during a trial)."""
    subscription = _new_subscription(customer, now=now, metadata=metadata, description=description)
    subscription['default_payment_method'] = default_payment_method
    if not item_params:
        raise invalid('Missing required param: items.', param='items', code='parameter_missing')
    # The same item parsing as updates: every requested item is added to an empty subscription.
    items = apply_item_params(ctx, subscription['id'], [], item_params, period=(now, now), now=now, param_prefix='')
    price = ctx.load('price', items[0]['price'])
    subscription['currency'] = price['currency']
    if trial_end is not None:
        subscription.update(status='trialing', trial_start=now, trial_end=trial_end, billing_cycle_anchor=trial_end)
        period_end = trial_end
    else:
        period_end = next_period_end(subscription, price['recurring'], now)
    for item in items:
        item['current_period_start'], item['current_period_end'] = now, period_end
    _set_items(subscription, items)
    ctx.save_and_emit('customer.subscription.created', subscription)
    before = ctx.snapshot(subscription)
    make_line = trial_line if trial_end is not None else cycle_line
    lines = [make_line(ctx, subscription, item, now, period_end) for item in items]
    collect_now(
        ctx, subscription, customer, lines, billing_reason='subscription_create', now=now, proration_date=None,
        payment_behavior=payment_behavior,
    )  # fmt: skip
    return ctx.save_and_emit('customer.subscription.updated', subscription, before)


def collect_now(
    ctx: Context,
    subscription: dict,
    customer: dict,
    lines: list[dict],
    *,
    billing_reason: str,
    now: int,
    proration_date: int | None,
    payment_behavior: str,
) -> dict:
    """Invoice `lines` (after any pending prorations) right away and try to collect payment.

    With `error_if_incomplete` a failed payment raises, and the caller's transaction rolls the whole change back;
    so does `pending_if_incomplete` for a decline, while a payment that waits for 3-D Secure returns its invoice
    (the caller holds the change back, `pending`). Otherwise the invoice stays open and the
    subscription becomes `incomplete` (new) or `past_due`; `default_incomplete` does not even try to charge.
    """
    invoice = invoicing.draft(
        ctx, customer=customer, subscription=subscription,
        lines=[*invoice_items.pending_lines(ctx, subscription['id']), *lines], billing_reason=billing_reason,
        period_start=now, period_end=now, created=now, currency=subscription['currency'],
        proration_date=proration_date,
    )  # fmt: skip
    invoicing.create(ctx, invoice)
    invoice_items.claim_pending(ctx, invoice)
    invoicing.finalize(ctx, invoice, now=now)
    subscription['latest_invoice'] = invoice['id']
    if payment_behavior == 'default_incomplete' and invoice['amount_remaining'] > 0:
        subscription['status'] = 'incomplete' if billing_reason == 'subscription_create' else 'past_due'
        return invoice
    automatic = billing_reason != 'subscription_create'  # a first invoice is not retried: it expires
    error = invoice_payments.attempt_payment(ctx, invoice, now=now, subscription=subscription, automatic=automatic)
    if error is not None:
        waits = getattr(error, 'requires_action', False) and payment_behavior == 'pending_if_incomplete'
        if payment_behavior in ('error_if_incomplete', 'pending_if_incomplete') and not waits:
            raise error
        if billing_reason == 'subscription_create':
            subscription['status'] = 'incomplete'
    elif subscription['status'] == 'incomplete' and invoice['status'] == 'paid':
        subscription['status'] = 'active'
    return invoice


def renew(ctx: Context, subscription: dict, *, at: int) -> None:
    """Start the next billing period at `at` (the end of the current one, or of the trial) and bill it; a schedule's
    next phase starts first, or its end cancels the subscription instead."""
    before = ctx.snapshot(subscription)
    if not scheduling.before_renewal(ctx, subscription, at=at):
        cancel_now(ctx, subscription, at=at, reason=None)
        return
    customer = ctx.load('customer', subscription['customer'])
    items = subscription['items']['data']
    old_start, old_end = items[0]['current_period_start'], items[0]['current_period_end']
    if subscription['status'] == 'trialing':
        subscription['status'] = 'active'
    recurring = ctx.load('price', items[0]['price'])['recurring']
    new_end = next_period_end(subscription, recurring, at)
    for item in items:
        item['current_period_start'], item['current_period_end'] = at, new_end
    lines = [*invoice_items.pending_lines(ctx, subscription['id'])]
    lines += [cycle_line(ctx, subscription, item, at, new_end) for item in items]
    invoice = invoicing.draft(
        ctx, customer=customer, subscription=subscription, lines=lines, billing_reason='subscription_cycle',
        period_start=old_start, period_end=old_end, created=at, currency=subscription['currency'],
    )  # fmt: skip
    invoicing.create(ctx, invoice)
    invoice_items.claim_pending(ctx, invoice)
    invoicing.finalize(ctx, invoice, now=at)
    subscription['latest_invoice'] = invoice['id']
    if subscription['status'] == 'unpaid':
        ctx.save(invoice)  # an unpaid subscription's invoices stay open, and are not attempted
    else:
        invoice_payments.attempt_payment(ctx, invoice, now=at, subscription=subscription, automatic=True)
    ctx.save_and_emit('customer.subscription.updated', subscription, before)


def cancel_now(
    ctx: Context,
    subscription: dict,
    *,
    at: int,
    reason: str | None = 'cancellation_requested',
    comment: str | None = None,
    feedback: str | None = None,
) -> dict:
    if subscription['status'] in ('canceled', 'incomplete_expired'):
        raise invalid(f'This subscription is already {subscription["status"]}.', code='resource_missing')
    subscription['status'] = 'canceled'
    subscription['canceled_at'] = subscription['canceled_at'] or at
    subscription['ended_at'] = at
    subscription['cancel_at_period_end'] = False
    details = subscription['cancellation_details']
    details['reason'] = reason or details['reason']
    details['comment'] = comment if comment is not None else details['comment']
    details['feedback'] = feedback if feedback is not None else details['feedback']
    # Prorations still waiting for a next invoice will never be billed.
    for item in ctx.store.find('invoiceitem', {'subscription': subscription['id'], 'invoice': None}):
        ctx.store.delete(item['id'])
    scheduling.subscription_ended(ctx, subscription, at=at)
    return ctx.save_and_emit('customer.subscription.deleted', subscription)


def sub_now(ctx: Context, subscription: dict) -> int:
    clock_id = subscription.get('test_clock')
    return ctx.clock_now(clock_id) if clock_id else ctx.now()


def _set_items(subscription: dict, items: list[dict]) -> None:
    subscription['items']['data'] = items
    subscription['items']['total_count'] = len(items)


def _new_subscription(customer: dict, *, now: int, metadata: dict | None, description: str | None) -> dict:
    subscription_id = new_id('sub')
    return {
        'id': subscription_id,
        'object': 'subscription',
        'application': None,
        'application_fee_percent': None,
        'automatic_tax': {'disabled_reason': None, 'enabled': False, 'liability': None},
        'billing_cycle_anchor': now,
        'billing_cycle_anchor_config': None,
        'billing_mode': {'flexible': {'proration_discounts': 'included'}, 'type': 'flexible', 'updated_at': now},
        'billing_schedules': [],
        'billing_thresholds': None,
        'cancel_at': None,
        'cancel_at_period_end': False,
        'canceled_at': None,
        'cancellation_details': {'comment': None, 'feedback': None, 'feedback_option': None, 'reason': None},
        'collection_method': 'charge_automatically',
        'created': now,
        'currency': None,
        'customer': customer['id'],
        'customer_account': None,
        'days_until_due': None,
        'default_payment_method': None,
        'default_source': None,
        'default_tax_rates': [],
        'description': description,
        'discounts': [],
        'ended_at': None,
        'invoice_settings': {
            'account_tax_ids': None,
            'custom_fields': None,
            'description': None,
            'footer': None,
            'issuer': {'type': 'self'},
        },  # fmt: skip
        'items': {**list_object([], f'/v1/subscription_items?subscription={subscription_id}'), 'total_count': 0},
        'latest_invoice': None,
        'livemode': False,
        'metadata': merge_metadata({}, metadata),
        'next_pending_invoice_item_invoice': None,
        'on_behalf_of': None,
        'pause_collection': None,
        'payment_settings': {
            'payment_method_options': None,
            'payment_method_types': None,
            'save_default_payment_method': 'off',
        },  # fmt: skip
        'pending_invoice_item_interval': None,
        'pending_setup_intent': None,
        'pending_update': None,
        'schedule': None,
        'start_date': now,
        'status': 'incomplete',
        'test_clock': customer.get('test_clock'),
        'transfer_data': None,
        'trial_end': None,
        'managed_payments': None,
        'trial_settings': {'end_behavior': {'billing_cycle_anchor': None, 'missing_payment_method': 'create_invoice'}},
        'trial_start': None,
    }

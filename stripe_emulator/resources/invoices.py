"""Invoices over the API: retrieve, list, lines, pay, void, and `create_preview` (upcoming invoice and prorations)."""

from .. import invoice_items, invoice_payments, invoicing
from ..billing import PRORATION_BEHAVIORS, anchor_reset, apply_item_params, cycle_line, next_period_end, plan_change
from ..context import Context
from ..errors import StripeError, invalid, parameter_missing
from ..handlers import retriever, string_filters
from ..lifecycle import sub_now
from ..listing import paged, paged_in_memory
from ..params import get_bool, get_dict, get_dicts, get_str, get_timestamp
from ..periods import period_end_after
from ..router import Route

_RENEWING = ('active', 'trialing', 'past_due', 'unpaid', 'incomplete')


retrieve = retriever('invoice')


def list_invoices(ctx: Context, params: dict) -> dict:
    filters = string_filters(params, 'customer')
    if subscription := get_str(params, 'subscription'):
        filters['parent.subscription_details.subscription'] = subscription
    if status := get_str(params, 'status', choices=('draft', 'open', 'paid', 'uncollectible', 'void')):
        filters['status'] = status
    return paged(ctx, params, 'invoice', '/v1/invoices', filters)


def list_lines(ctx: Context, params: dict, invoice: str) -> dict:
    doc = ctx.load('invoice', invoice)
    return paged_in_memory(params, doc['lines']['data'], f'/v1/invoices/{invoice}/lines')


def pay(ctx: Context, params: dict, invoice: str) -> dict:
    doc = ctx.load('invoice', invoice)
    payment_method = get_str(params, 'payment_method')
    return pay_invoice(ctx, doc, payment_method=payment_method, out_of_band=bool(get_bool(params, 'paid_out_of_band')))


def pay_invoice(ctx: Context, invoice: dict, *, payment_method: str | None, out_of_band: bool = False) -> dict:
    """Pay an open invoice; its subscription becomes active again. A decline is recorded, then raised."""
    subscription_id = ((invoice.get('parent') or {}).get('subscription_details') or {}).get('subscription')
    subscription = ctx.store.get(subscription_id, 'subscription') if subscription_id else None
    before = ctx.snapshot(subscription) if subscription else None
    now = sub_now(ctx, subscription) if subscription else ctx.now(invoice['customer'])
    if payment_method:
        ctx.load('payment_method', payment_method, param='payment_method')
    if out_of_band:
        invoice_payments.paid_out_of_band(ctx, invoice, now=now, subscription=subscription)
        error = None
    else:
        error = invoice_payments.attempt_payment(
            ctx, invoice, now=now, payment_method=payment_method, subscription=subscription
        )
    if subscription is not None and ctx.snapshot(subscription) != before:
        ctx.save_and_emit('customer.subscription.updated', subscription, before)
    if error is not None:
        error.commit = True
        raise error
    return invoice


def void(ctx: Context, params: dict, invoice: str) -> dict:
    doc = ctx.load('invoice', invoice)
    return invoicing.void(ctx, doc, now=ctx.now(doc['customer']))


def create_preview(ctx: Context, params: dict) -> dict:
    """The invoice a change would produce, or the subscription's next regular invoice.

    - With `subscription_details[proration_behavior]=always_invoice`, or a change of billing interval (which
      starts a new period now), this is the invoice that the same update would create and charge now:
      its `amount_due` is what will be charged today.
    - Otherwise it is the next regular invoice: pending prorations plus the next period at the new prices;
      `period_end` and `next_payment_attempt` say when it will be charged.
    - `preview_mode=recurring` leaves out everything one-off: it is the next regular invoice at the new prices
      (after an interval change, the first renewal of the new cycle).
    """
    details = get_dict(params, 'subscription_details') or {}
    recurring_only = get_str(params, 'preview_mode', choices=('next', 'recurring')) == 'recurring'
    subscription_id = get_str(params, 'subscription')
    customer_id = get_str(params, 'customer')
    if subscription_id:
        subscription = ctx.load('subscription', subscription_id, param='subscription')
        if customer_id and customer_id != subscription['customer']:
            raise invalid('The subscription does not belong to this customer.', param='customer')
    elif customer_id:
        customer = ctx.load('customer', customer_id, param='customer')
        if get_dicts(details, 'items'):
            return _preview_new_subscription(ctx, customer, details)
        subscription = _current_subscription(ctx, customer)
    else:
        raise parameter_missing('customer')
    return preview_subscription(ctx, subscription, details, recurring_only=recurring_only)


def preview_subscription(ctx: Context, subscription: dict, details: dict, *, recurring_only: bool = False) -> dict:
    if subscription['status'] not in _RENEWING:
        raise _no_upcoming(subscription['customer'])
    customer = ctx.load('customer', subscription['customer'])
    now = sub_now(ctx, subscription)
    proration_behavior = get_str(details, 'proration_behavior', choices=PRORATION_BEHAVIORS) or 'create_prorations'
    proration_date = get_timestamp(details, 'proration_date')
    item_params = get_dicts(details, 'items')
    reset_anchor = anchor_reset(details.get('billing_cycle_anchor'))
    items, anchor, new_lines = subscription['items']['data'], subscription['billing_cycle_anchor'], []
    if item_params or reset_anchor:
        change = plan_change(
            ctx, subscription, item_params=item_params, proration_behavior=proration_behavior,
            proration_date=proration_date, now=now, reset_anchor=reset_anchor, param_prefix='subscription_details',
        )  # fmt: skip
        if change.invoice_now and not recurring_only:
            lines = [*invoice_items.pending_lines(ctx, subscription['id']), *change.lines]
            return invoicing.draft(
                ctx, customer=customer, subscription=subscription, lines=lines, billing_reason='subscription_update',
                period_start=now, period_end=now, created=now, currency=subscription['currency'],
                proration_date=proration_date if proration_date is not None else now, preview=True,
            )  # fmt: skip
        items, anchor = change.items, change.anchor
        new_lines = [] if change.invoice_now else change.lines
    cancel_at_period_end = get_bool(details, 'cancel_at_period_end')
    if cancel_at_period_end is None:
        period_end = items[0]['current_period_end']
        cancel_at_period_end = bool(subscription['cancel_at'] and subscription['cancel_at'] <= period_end)
    if cancel_at_period_end:
        raise _no_upcoming(subscription['customer'])
    one_off = [] if recurring_only else [*invoice_items.pending_lines(ctx, subscription['id']), *new_lines]
    return _next_invoice(ctx, subscription, customer, items, anchor, one_off, proration_date)


def _next_invoice(
    ctx: Context,
    subscription: dict,
    customer: dict,
    items: list[dict],
    anchor: int,
    one_off: list[dict],
    proration_date: int | None,
) -> dict:
    start, end = items[0]['current_period_start'], items[0]['current_period_end']
    recurring = ctx.load('price', items[0]['price'])['recurring']
    next_end = period_end_after(anchor, recurring, end)
    lines = [*one_off, *(cycle_line(ctx, subscription, item, end, next_end) for item in items)]
    invoice = invoicing.draft(
        ctx, customer=customer, subscription=subscription, lines=lines, billing_reason='subscription_cycle',
        period_start=start, period_end=end, created=end, currency=subscription['currency'],
        proration_date=proration_date if one_off else None, preview=True,
    )  # fmt: skip
    invoice['next_payment_attempt'] = end
    return invoice


def _preview_new_subscription(ctx: Context, customer: dict, details: dict) -> dict:
    now = ctx.now(customer)
    fake = {'id': None, 'metadata': {}, 'billing_cycle_anchor': now}
    items = apply_item_params(
        ctx, None, [], get_dicts(details, 'items'), period=(now, now), now=now, param_prefix='subscription_details'
    )
    recurring = ctx.load('price', items[0]['price'])['recurring']
    end = next_period_end(fake, recurring, now)
    lines = [cycle_line(ctx, fake, item, now, end) for item in items]
    invoice = invoicing.draft(
        ctx, customer=customer, subscription=None, lines=lines, billing_reason='subscription_create',
        period_start=now, period_end=now, created=now, currency=lines[0]['currency'], preview=True,
    )  # fmt: skip
    return invoice


def _current_subscription(ctx: Context, customer: dict) -> dict:
    subscriptions = ctx.store.find('subscription', {'customer': customer['id'], 'status': list(_RENEWING)})
    if not subscriptions:
        raise _no_upcoming(customer['id'])
    return subscriptions[0]


def _no_upcoming(customer_id: str) -> StripeError:
    return StripeError(f'No upcoming invoices for customer: {customer_id}', status=404, code='invoice_upcoming_none')


ROUTES = [
    Route('POST', '/v1/invoices/create_preview', create_preview, 'InvoiceCreatePreviewParams'),
    Route('GET', '/v1/invoices', list_invoices, 'InvoiceListParams'),
    Route('GET', '/v1/invoices/{invoice}', retrieve, 'InvoiceRetrieveParams'),
    Route('GET', '/v1/invoices/{invoice}/lines', list_lines, 'InvoiceLineItemListParams'),
    Route('POST', '/v1/invoices/{invoice}/pay', pay, 'InvoicePayParams'),
    Route('POST', '/v1/invoices/{invoice}/void', void, 'InvoiceVoidInvoiceParams'),
]

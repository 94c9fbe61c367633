"""Subscriptions over the API: create, retrieve, list, update (prorations), cancel."""

import copy

from .. import invoice_items, pausing, pending
from ..billing import PRORATION_BEHAVIORS, anchor_reset, plan_change
from ..context import Context
from ..errors import invalid
from ..handlers import retriever, string_filters
from ..lifecycle import PAYMENT_BEHAVIORS, cancel_now, collect_now, renew, start, sub_now
from ..listing import paged
from ..params import get_bool, get_dict, get_dicts, get_int, get_str, get_timestamp, merge_metadata
from ..render import renderer
from ..router import Route
from ..store import Not

STATUSES = ('active', 'all', 'canceled', 'ended', 'incomplete', 'incomplete_expired', 'past_due', 'paused',
            'trialing', 'unpaid')  # fmt: skip
FEEDBACK = ('customer_service', 'low_quality', 'missing_features', 'other', 'switched_service', 'too_complex',
            'too_expensive', 'unused')  # fmt: skip


def create(ctx: Context, params: dict) -> dict:
    customer = ctx.load('customer', get_str(params, 'customer', required=True), param='customer')
    now = ctx.now(customer)
    default_pm = get_str(params, 'default_payment_method')
    if default_pm:
        _attached_payment_method(ctx, customer['id'], default_pm)
    return start(
        ctx,
        customer=customer,
        item_params=get_dicts(params, 'items') or [],
        default_payment_method=default_pm,
        metadata=params.get('metadata'),
        trial_end=trial_end_from(params, now),
        payment_behavior=get_str(params, 'payment_behavior', choices=PAYMENT_BEHAVIORS) or 'allow_incomplete',
        now=now,
        description=get_str(params, 'description'),
    )


retrieve = retriever('subscription')


def list_subscriptions(ctx: Context, params: dict) -> dict:
    filters = string_filters(params, 'customer', 'test_clock')
    status = get_str(params, 'status', choices=STATUSES)
    if status == 'ended':
        filters['status'] = ['canceled', 'incomplete_expired']
    elif status and status != 'all':
        filters['status'] = status
    elif status is None:  # like Stripe, canceled subscriptions only show up when asked for
        filters['status'] = Not('canceled')
    return paged(ctx, params, 'subscription', '/v1/subscriptions', filters)


def update(ctx: Context, params: dict, subscription_exposed_id: str) -> dict:
    subscription = ctx.load('subscription', subscription_exposed_id)
    if subscription['status'] in ('canceled', 'incomplete_expired'):
        allowed = {'metadata', 'cancellation_details', 'expand'}
        if set(params) - allowed:
            raise invalid('A canceled subscription can only update its cancellation_details and metadata.')
    before = ctx.snapshot(subscription)
    customer = ctx.load('customer', subscription['customer'])
    now = sub_now(ctx, subscription)
    proration_behavior = get_str(params, 'proration_behavior', choices=PRORATION_BEHAVIORS) or 'create_prorations'
    payment_behavior = get_str(params, 'payment_behavior', choices=PAYMENT_BEHAVIORS) or 'allow_incomplete'
    if 'default_payment_method' in params:
        pm_id = get_str(params, 'default_payment_method')
        if pm_id:
            _attached_payment_method(ctx, customer['id'], pm_id)
        subscription['default_payment_method'] = pm_id
    subscription['metadata'] = merge_metadata(subscription['metadata'], params.get('metadata'))
    if 'description' in params:
        subscription['description'] = get_str(params, 'description')
    _update_cancellation(subscription, params, now)
    if get_str(params, 'trial_end') == 'now' and subscription['status'] == 'trialing':
        subscription.update(trial_end=now, billing_cycle_anchor=now)
        renew(ctx, subscription, at=now)
        return subscription
    item_params = get_dicts(params, 'items')
    reset_anchor = anchor_reset(params.get('billing_cycle_anchor'))
    if item_params or reset_anchor:
        kept = (copy.deepcopy(subscription['items']), subscription['billing_cycle_anchor'], subscription['status'])
        proration_date = get_timestamp(params, 'proration_date')
        change = plan_change(
            ctx, subscription, item_params=item_params, proration_behavior=proration_behavior,
            proration_date=proration_date, now=now, reset_anchor=reset_anchor,
        )  # fmt: skip
        subscription['items']['data'] = change.items
        subscription['items']['total_count'] = len(change.items)
        subscription['billing_cycle_anchor'] = change.anchor
        if change.resets_cycle and subscription['cancel_at_period_end']:
            subscription['cancel_at'] = change.items[0]['current_period_end']
        if change.invoice_now:
            invoice = collect_now(
                ctx, subscription, customer, change.lines, billing_reason='subscription_update', now=now,
                proration_date=proration_date if proration_date is not None else now,
                payment_behavior=payment_behavior,
            )  # fmt: skip
            if payment_behavior == 'pending_if_incomplete' and invoice['status'] == 'open':
                items, anchor, status = kept  # it waits for 3-D Secure: applied once paid
                pending.hold(ctx, subscription, items=items, anchor=anchor, status=status, invoice=invoice, now=now)
        elif change.lines:
            invoice_items.add_pending(ctx, customer=customer, subscription=subscription, lines=change.lines, now=now)
    return ctx.save_and_emit_change('customer.subscription.updated', subscription, before)


def cancel(ctx: Context, params: dict, subscription_exposed_id: str) -> dict:
    subscription = ctx.load('subscription', subscription_exposed_id)
    details = get_dict(params, 'cancellation_details') or {}
    return cancel_now(
        ctx,
        subscription,
        at=sub_now(ctx, subscription),
        comment=get_str(details, 'comment'),
        feedback=get_str(details, 'feedback', choices=FEEDBACK),
    )


def trial_end_from(params: dict, now: int) -> int | None:
    trial_end = params.get('trial_end')
    if trial_end == 'now':
        return None
    if trial_end not in (None, ''):
        end = get_timestamp(params, 'trial_end')
        if end <= now:
            raise invalid('Invalid timestamp: must be an integer Unix timestamp in the future.', param='trial_end')
        return end
    if days := get_int(params, 'trial_period_days', minimum=0, maximum=730):
        return now + days * 86400
    return None


def _update_cancellation(subscription: dict, params: dict, now: int) -> None:
    details = subscription['cancellation_details']
    period_end = subscription['items']['data'][0]['current_period_end']
    at_period_end = get_bool(params, 'cancel_at_period_end')
    if at_period_end is True:
        subscription.update(cancel_at_period_end=True, cancel_at=period_end, canceled_at=now)
        details['reason'] = 'cancellation_requested'
    elif at_period_end is False or params.get('cancel_at') == '':
        subscription.update(cancel_at_period_end=False, cancel_at=None, canceled_at=None)
        details.update(comment=None, feedback=None, reason=None)
    if params.get('cancel_at') not in (None, ''):
        value = params['cancel_at']
        cancel_at = period_end if value in ('min_period_end', 'max_period_end') else get_timestamp(params, 'cancel_at')
        if cancel_at <= now:
            raise invalid('Invalid timestamp: must be an integer Unix timestamp in the future.', param='cancel_at')
        subscription.update(cancel_at_period_end=False, cancel_at=cancel_at, canceled_at=now)
        details['reason'] = 'cancellation_requested'
    if requested := get_dict(params, 'cancellation_details'):
        if 'comment' in requested:
            details['comment'] = get_str(requested, 'comment')
        if 'feedback' in requested:
            details['feedback'] = get_str(requested, 'feedback', choices=FEEDBACK)


def _attached_payment_method(ctx: Context, customer_id: str, pm_id: str) -> dict:
    pm = ctx.load('payment_method', pm_id, param='default_payment_method')
    if pm['customer'] != customer_id:
        raise invalid(
            f'The customer does not have a payment method with the ID {pm_id}. The payment method must be attached '
            'to the customer.',
            param='default_payment_method',
        )
    return pm


@renderer('subscription')
def _render(ctx: Context, subscription: dict) -> dict:
    rendered = {**subscription, 'items': {**subscription['items'], 'data': _items(ctx, subscription['items']['data'])}}
    if held := subscription.get('pending_update'):
        rendered['pending_update'] = {**held, 'subscription_items': _items(ctx, held['subscription_items'])}
    return rendered


def _items(ctx: Context, items: list[dict]) -> list[dict]:
    """Subscription items with their whole price, and its legacy `plan` twin."""
    rendered = []
    for item in items:
        price = ctx.store.get(item['price'], 'price') if isinstance(item['price'], str) else item['price']
        rendered.append({**item, 'price': price, 'plan': _plan(price)})
    return rendered


def _plan(price: dict | None) -> dict | None:
    """The legacy `plan` twin of a recurring price, still present on subscription items."""
    if price is None:
        return None
    recurring = price['recurring'] or {}
    return {
        'id': price['id'],
        'object': 'plan',
        'active': price['active'],
        'amount': price['unit_amount'],
        'amount_decimal': price['unit_amount_decimal'],
        'billing_scheme': 'per_unit',
        'created': price['created'],
        'currency': price['currency'],
        'interval': recurring.get('interval'),
        'interval_count': recurring.get('interval_count', 1),
        'livemode': False,
        'metadata': price['metadata'],
        'meter': None,
        'nickname': price['nickname'],
        'product': price['product'],
        'tiers_mode': None,
        'transform_usage': None,
        'trial_period_days': recurring.get('trial_period_days'),
        'usage_type': 'licensed',
    }


def pause(ctx: Context, params: dict, subscription_exposed_id: str) -> dict:
    subscription = ctx.load('subscription', subscription_exposed_id)
    get_str(params, 'type', choices=('subscription',))
    get_str(params, 'invoicing_behavior', choices=('invoice', 'pending_invoice_item'))
    unused = get_dict(get_dict(params, 'bill_for') or {}, 'unused_time_from') or {}
    credit = (get_str(unused, 'type', choices=('item_current_period_start', 'none', 'now')) or 'now') != 'none'
    return pausing.pause(ctx, subscription, credit_unused=credit, now=sub_now(ctx, subscription))


def resume(ctx: Context, params: dict, subscription_exposed_id: str) -> dict:
    subscription = ctx.load('subscription', subscription_exposed_id)
    anchor = get_dict(params, 'billing_cycle_anchor') or {}
    if (get_str(anchor, 'type', choices=('now', 'unchanged')) or 'now') != 'now':
        raise invalid('The emulator resumes with billing_cycle_anchor[type]=now only.', param='billing_cycle_anchor')
    behavior = get_str(params, 'payment_behavior', choices=('resume_on_payment_attempt', 'resume_on_payment_success'))
    return pausing.resume(ctx, subscription, payment_behavior=behavior or 'resume_on_payment_attempt',
                          now=sub_now(ctx, subscription))  # fmt: skip


ROUTES = [
    Route('POST', '/v1/subscriptions', create, 'SubscriptionCreateParams'),
    Route('GET', '/v1/subscriptions', list_subscriptions, 'SubscriptionListParams'),
    Route('GET', '/v1/subscriptions/{subscription_exposed_id}', retrieve, 'SubscriptionRetrieveParams'),
    Route('POST', '/v1/subscriptions/{subscription_exposed_id}', update, 'SubscriptionUpdateParams'),
    Route('DELETE', '/v1/subscriptions/{subscription_exposed_id}', cancel, 'SubscriptionCancelParams'),
    Route('POST', '/v1/subscriptions/{subscription_exposed_id}/pause', pause, 'SubscriptionPauseParams'),
    Route('POST', '/v1/subscriptions/{subscription_exposed_id}/resume', resume, 'SubscriptionResumeParams'),
]

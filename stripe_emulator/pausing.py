"""Pausing a subscription (`POST /v1/subscriptions/{id}/pause`) and resuming it (`.../resume`), as at endive.

Pausing an active subscription makes it `paused` (with `status_details.paused`): it bills nothing and renews no more.
By default (`bill_for[unused_time_from][type]=now`) the unused time of the current period is credited as pending
invoice items, which the resumption invoice takes off; `none` credits nothing. Resuming starts a new period now
(`billing_cycle_anchor=now`, the default) and invoices it at once; `resume_on_payment_success` leaves the subscription
paused if that payment fails, `resume_on_payment_attempt` (the default) resumes it `past_due`.
"""

from . import invoice_items
from .billing import cycle_line, next_period_end, proration_line
from .context import Context
from .errors import invalid
from .lifecycle import collect_now


def pause(ctx: Context, subscription: dict, *, credit_unused: bool, now: int) -> dict:
    if subscription['status'] not in ('active', 'trialing'):
        raise invalid(f'A subscription that is {subscription["status"]} cannot be paused.', code='invalid_state')
    before = ctx.snapshot(subscription)
    customer = ctx.load('customer', subscription['customer'])
    if credit_unused and subscription['status'] == 'active':
        lines = [proration_line(ctx, subscription, item, now, item['current_period_end'], credit=True)
                 for item in subscription['items']['data'] if item['current_period_end'] > now]  # fmt: skip
        invoice_items.add_pending(ctx, customer=customer, subscription=subscription, lines=lines, now=now)
    subscription['status'] = 'paused'
    subscription['status_details'] = {
        'paused': {'subscription': {'type': 'pause_requested'}, 'transitioned_at': now, 'type': 'subscription'}
    }
    ctx.save_and_emit('customer.subscription.paused', subscription)
    return ctx.save_and_emit('customer.subscription.updated', subscription, before)


def resume(ctx: Context, subscription: dict, *, payment_behavior: str, now: int) -> dict:
    if subscription['status'] != 'paused':
        raise invalid(f'A subscription that is {subscription["status"]} cannot be resumed.', code='invalid_state')
    before = ctx.snapshot(subscription)
    customer = ctx.load('customer', subscription['customer'])
    subscription.pop('status_details', None)
    subscription['status'] = 'active'
    subscription['billing_cycle_anchor'] = now
    items = subscription['items']['data']
    end = next_period_end(subscription, ctx.load('price', items[0]['price'])['recurring'], now)
    for item in items:
        item['current_period_start'], item['current_period_end'] = now, end
    lines = [cycle_line(ctx, subscription, item, now, end) for item in items]
    invoice = collect_now(
        ctx, subscription, customer, lines, billing_reason='subscription_update', now=now, proration_date=None,
        payment_behavior='allow_incomplete',
    )  # fmt: skip
    if invoice['status'] != 'paid' and payment_behavior == 'resume_on_payment_success':
        subscription['status'] = 'paused'  # still paused until the resumption invoice is paid
        subscription['status_details'] = before.get('status_details')
        return ctx.save_and_emit('customer.subscription.updated', subscription, before)
    ctx.save_and_emit('customer.subscription.resumed', subscription)
    return ctx.save_and_emit('customer.subscription.updated', subscription, before)

"""Time passing: renewals, trial ends, scheduled cancellations and delayed payments settling, for test clocks and
for real time.

Due work is processed strictly in time order, one subscription event or payment at a time, so that a clock advanced
by three months produces three renewals in the right order.
"""

import math
from collections.abc import Callable

from . import dunning, invoicing, pending, settlement
from .context import Context
from .errors import invalid
from .lifecycle import cancel_now, renew

_LIVE = ['active', 'trialing', 'past_due', 'unpaid', 'incomplete']
# Stripe expires a subscription whose first payment never succeeded after 23 hours.
INCOMPLETE_EXPIRY_SECONDS = 23 * 3600
_MAX_STEPS = 10_000


def advance_clock(ctx: Context, clock: dict, target: int) -> None:
    def move(to: int) -> None:
        clock['frozen_time'] = to
        ctx.save(clock)

    _run_due(ctx, clock['id'], target, move)
    move(target)


def renew_real_time(ctx: Context, now: float) -> None:
    """Process what fell due for customers without a test clock (called periodically)."""
    _run_due(ctx, None, now, lambda _: None)


def due_time(subscription: dict) -> int | None:
    status = subscription['status']
    if status not in _LIVE:
        return None
    if status == 'incomplete':
        due = subscription['created'] + INCOMPLETE_EXPIRY_SECONDS
    elif status == 'trialing':
        due = subscription['trial_end']
    else:
        due = subscription['items']['data'][0]['current_period_end']
    due = min(due, pending.expires_at(subscription) or due)
    return min(due, subscription['cancel_at']) if subscription['cancel_at'] else due


def _run_due(ctx: Context, clock_id: str | None, until: float, move: Callable[[int], None]) -> None:
    for _ in range(_MAX_STEPS):
        subscriptions = ctx.store.find('subscription', {'test_clock': clock_id, 'status': _LIVE}, oldest_first=True)
        due: list[tuple[float, str, dict]] = [
            (when, 'payment', intent) for when, intent in settlement.due(ctx, clock_id, until)
        ]  # a payment due at the same moment as a renewal settles first
        due += [(when, 'retry', invoice) for when, invoice in dunning.due(ctx, clock_id, until)]
        for subscription in subscriptions:
            if (when := due_time(subscription)) is not None and when <= until:
                due.append((when, 'subscription', subscription))
        if not due:
            return
        when, kind, doc = min(due, key=lambda entry: entry[0])
        at = math.ceil(when)
        move(at)
        if kind == 'payment':
            settlement.settle(ctx, doc['id'], now=at)
        elif kind == 'retry':
            dunning.retry(ctx, doc, at=at)
        else:
            _process(ctx, doc, at)
    raise invalid('Too many billing events in one advance; advance the clock in smaller steps.')


def _process(ctx: Context, subscription: dict, when: int) -> None:
    if (expiry := pending.expires_at(subscription)) is not None and expiry <= when:
        before = ctx.snapshot(subscription)  # a held change was not paid in time: it lapses
        invoice = ctx.store.get(subscription['_pending']['invoice'], 'invoice')
        pending.discard(subscription)
        if invoice is not None and invoice['status'] == 'open':
            invoicing.void(ctx, invoice, now=when)
        ctx.save_and_emit('customer.subscription.pending_update_expired', subscription)
        ctx.emit('customer.subscription.updated', subscription, before)
    elif subscription['cancel_at'] and subscription['cancel_at'] <= when:
        cancel_now(ctx, subscription, at=subscription['cancel_at'], reason=None)
    elif subscription['status'] == 'incomplete':
        before = ctx.snapshot(subscription)
        subscription.update(status='incomplete_expired', ended_at=when)
        latest = ctx.store.get(subscription['latest_invoice'] or '', 'invoice')
        if latest is not None and latest['status'] == 'open':
            invoicing.void(ctx, latest, now=when)
        ctx.save_and_emit('customer.subscription.updated', subscription, before)
    else:
        renew(ctx, subscription, at=when)

"""Failed renewals, retried on a schedule, then the subscription marked `unpaid` or canceled.

Stripe's Smart Retries choose their own moments; the emulator retries at fixed days after the first failure
(`retry_schedule_days`, 3, 5 and 7 by default), counted in the customer's test-clock time when it has a clock, so
tests know when each retry happens. An automatic attempt that fails sets the invoice's `next_payment_attempt` to
the next retry, before `invoice.payment_failed` is sent; after the last one it is null and `past_due_policy`
decides: `cancel` (Stripe's default) cancels the subscription with reason `payment_failed`, `unpaid` marks it
`unpaid`. Paying the invoice meanwhile, by any means, ends the retries.
"""

from .context import Context

DAY = 86_400


def schedule_next(ctx: Context, invoice: dict, *, now: int) -> None:
    """After a failed automatic attempt (unsaved): when the next retry is due, or None after the last."""
    first = invoice.setdefault('_first_failed_at', now)
    retries = invoice.get('_retries', 0)
    schedule = ctx.config.retry_schedule_days
    invoice['next_payment_attempt'] = int(first + schedule[retries] * DAY) if retries < len(schedule) else None


def due(ctx: Context, clock_id: str | None, until: float) -> list[tuple[float, dict]]:
    """The open invoices of a test clock (or of real time) whose next retry is due by `until`."""
    found = ctx.store.find('invoice', {'status': 'open', 'test_clock': clock_id}, oldest_first=True)
    return [(invoice['next_payment_attempt'], invoice) for invoice in found
            if invoice.get('next_payment_attempt') and invoice['next_payment_attempt'] <= until]  # fmt: skip


def retry(ctx: Context, invoice: dict, *, at: int) -> None:
    """Attempt the invoice again; after the last failed retry, apply the past-due policy."""
    from . import invoice_payments, lifecycle

    subscription_id = ((invoice.get('parent') or {}).get('subscription_details') or {}).get('subscription')
    subscription = ctx.store.get(subscription_id, 'subscription') if subscription_id else None
    before = ctx.snapshot(subscription) if subscription else None
    invoice['_retries'] = invoice.get('_retries', 0) + 1
    error = invoice_payments.attempt_payment(ctx, invoice, now=at, subscription=subscription, automatic=True)
    if subscription is None:
        return
    if error is not None and invoice['next_payment_attempt'] is None and subscription['status'] == 'past_due':
        if ctx.config.past_due_policy == 'unpaid':
            subscription['status'] = 'unpaid'
        else:
            ctx.save_and_emit_change('customer.subscription.updated', subscription, before)
            lifecycle.cancel_now(ctx, subscription, at=at, reason='payment_failed')
            return
    ctx.save_and_emit_change('customer.subscription.updated', subscription, before)

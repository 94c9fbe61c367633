"""The notes the Subscription section shows above its fields when the subscription is not simply renewing: paused, or
set to change at the end of the period."""

from nicegui import ui

from services.billing.subscriptions import BillingOverview
from services.moments import long_date
from services.plans import Interval
from services.words import plural


def paused_note(overview: BillingOverview) -> None:
    subscription = overview.subscription
    when = (f'It resumes on {long_date(subscription.pause_resumes_at)}.' if subscription.pause_resumes_at
            else 'It stays paused until an admin resumes it.')  # fmt: skip
    with _note('pause_circle', 'bg-blue-grey-1 text-blue-grey-10').mark('subscription-paused'):
        ui.label(f'Your subscription is paused. {when} Meanwhile nothing is billed and your users cannot use the '
                 'product; you keep this portal. On resuming, a new billing period starts and is charged, less the '
                 'credit for the time left unused when you paused.')  # fmt: skip


def scheduled_note(overview: BillingOverview) -> None:
    """ "Changes to Starter, 3 seats on DATE" (and the interval when that changes too)."""
    subscription = overview.subscription
    name = overview.scheduled_plan.name if overview.scheduled_plan else subscription.scheduled_plan_id
    seats = subscription.scheduled_seats or 0
    interval = Interval.of(subscription.scheduled_interval)
    billed = (
        f', billed {interval.adjective}'
        if interval and subscription.scheduled_interval != subscription.interval
        else ''
    )
    with _note('schedule', 'bg-blue-1 text-blue-10').mark('scheduled-change'):
        ui.label(f'Changes to {name}{billed}, {plural(seats, "seat")} on {long_date(subscription.scheduled_at)}.')


def _note(icon: str, colours: str) -> ui.row:
    row = ui.row().classes(f'w-full items-center no-wrap {colours} q-pa-sm rounded-borders')
    with row:
        ui.icon(icon)
    return row

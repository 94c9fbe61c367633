"""Portico's mirror of each organization's Stripe subscription, and the questions everyone asks of it.

This module is the only writer of SubscriptionMirror. Whatever writes it (a change, a webhook, a fulfilment, a
resync) holds the organization's billing lock from its read of Stripe to its write, so an older read can never
overwrite a newer one. Pages, components and the other billing modules ask `is_live`, `owes`, `grace_end`,
`cancellation_scheduled`, `scheduled_end`, `seats_allowed` and `seats_in_use` here instead of spelling the rules
out again.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.transactions import in_transaction

from db.models import BillingAccount, Organization, SubscriptionMirror, User
from services.moments import from_timestamp
from services.plans import Catalog
from services.words import plural

if TYPE_CHECKING:
    from services.billing.recovery import OwedInvoice
    from services.billing.schedules import ScheduledChange

log = logging.getLogger('portico.billing')

# Statuses in which the subscription's seats apply; anything else falls back to the trial allowance.
LIVE_STATUSES = frozenset({'active', 'trialing', 'past_due'})
# Statuses in which a payment failed and money is owed: the section shows the banner with "Pay now".
OWING = frozenset({'past_due', 'unpaid'})
# Statuses of a subscription that goes on, served by the product or not: its seats apply, its section shows it.
KEPT_STATUSES = LIVE_STATUSES | {'paused', 'unpaid'}


def is_live(subscription: SubscriptionMirror | None) -> bool:
    return subscription is not None and subscription.status in LIVE_STATUSES


def cancellation_scheduled(subscription: SubscriptionMirror | None) -> bool:
    """Whether the subscription ends on a date already set (here at period end, or elsewhere with `cancel_at`)."""
    return subscription is not None and bool(subscription.cancel_at_period_end or subscription.cancel_at)


def scheduled_end(subscription: SubscriptionMirror) -> datetime | None:
    """When a scheduled cancellation ends the subscription; None when none is scheduled."""
    if subscription.cancel_at:
        return subscription.cancel_at
    return subscription.current_period_end if subscription.cancel_at_period_end else None


def ends_or_renews_on(subscription: SubscriptionMirror) -> datetime | None:
    """The date the Subscription section shows: "Ends on" it when a cancellation is scheduled, else "Renews on"."""
    return scheduled_end(subscription) or subscription.current_period_end


def owes(subscription: SubscriptionMirror | None) -> bool:
    """Whether the banner shows: a payment failed and is owed, or waits for the cardholder's 3-D Secure, or a change
    waits for its payment."""
    if subscription is None or not subscription.open_invoice_id:
        return False
    return subscription.status in OWING or bool(subscription.payment_action_url or subscription.pending_change)


def grace_end(subscription: SubscriptionMirror | None, *, grace_days: int) -> datetime | None:
    """Until when a past-due organization stays live (GRACE_DAYS after its first failure); None if not past due."""
    if subscription is None or subscription.status != 'past_due' or subscription.past_due_since is None:
        return None
    return subscription.past_due_since + timedelta(days=grace_days)


def has_subscription(subscription: SubscriptionMirror | None) -> bool:
    """A subscription that goes on: live, or paused, or unpaid (the product does not serve those two)."""
    return subscription is not None and subscription.status in KEPT_STATUSES


def seats_allowed(subscription: SubscriptionMirror | None, *, trial_seats: int) -> int:
    """How many users may be enabled at once: the subscription's seats (also while paused or unpaid), or the trial
    allowance."""
    return subscription.seats if has_subscription(subscription) else trial_seats


async def seats_in_use(organization_id: int) -> int:
    """Enabled users take a seat; disabled ones do not."""
    return await User.filter(organization_id=organization_id, is_enabled=True).count()


async def seat_limit(organization_id: int, *, trial_seats: int) -> int:
    return seats_allowed(await SubscriptionMirror.get_or_none(organization_id=organization_id), trial_seats=trial_seats)


def comparable(subscription: SubscriptionMirror | None) -> dict:
    """The fields a resync reports when they differ."""
    if subscription is None:
        return {}
    fields = ('stripe_subscription_id', 'plan_id', 'interval', 'status', 'seats', 'current_period_end',
              'cancel_at_period_end', 'cancel_at')  # fmt: skip
    return {field: getattr(subscription, field) for field in fields}


# A pause for N billing periods ends at this Unix time, kept in the subscription's metadata (`pausing`).
RESUMES_AT = 'portico_resumes_at'

OnChange = Callable[[int], Awaitable[object]]
# What is owed on a past-due or unpaid subscription (`recovery.owed_invoice`), read from Stripe before each write.
Owed = Callable[[dict], Awaitable['OwedInvoice | None']]
# The change a subscription schedule has in store (`schedules.scheduled_change`), read from Stripe before each write.
Scheduled = Callable[[dict], Awaitable['ScheduledChange | None']]


async def _nothing(organization_id: int) -> None:
    return None


class Mirror:
    def __init__(self, catalog: Catalog, *, on_change: OnChange = _nothing, owed: Owed | None = None,
                 scheduled: Scheduled | None = None) -> None:  # fmt: skip
        """`on_change(organization_id)` runs inside the transaction of every write (the product hears of it)."""
        self.catalog = catalog
        self.on_change = on_change
        self.owed = owed
        self.scheduled = scheduled

    async def write(self, subscription: dict, *, organization_id: int | None = None) -> SubscriptionMirror | None:
        """Overwrite the organization's mirror with Stripe's subscription, as Stripe has it now."""
        organization_id = organization_id or await self.organization_of(subscription)
        if organization_id is None:
            log.warning('subscription %s belongs to no organization of this Portico', subscription['id'])
            return None
        values = self._values(subscription)
        owed = await self.owed(subscription) if self.owed else None
        values.update(_scheduled_values(await self.scheduled(subscription) if self.scheduled else None))
        async with in_transaction():
            mirror = await SubscriptionMirror.select_for_update().get_or_none(organization_id=organization_id)
            same = mirror if mirror and mirror.stripe_subscription_id == subscription['id'] else None
            values.update(_owed_values(owed, same, status=values['status']))
            if mirror is None:
                mirror = await SubscriptionMirror.create(organization_id=organization_id, **values)
            else:
                replacing = mirror.stripe_subscription_id != subscription['id']
                if replacing and values['status'] not in LIVE_STATUSES and is_live(mirror):
                    return mirror  # an old, ended subscription must not hide the live one
                for field, value in values.items():
                    setattr(mirror, field, value)
                await mirror.save()
            await self.on_change(organization_id)
            return mirror

    @staticmethod
    async def organization_of(subscription: dict) -> int | None:
        metadata_id = str((subscription.get('metadata') or {}).get('organization_id') or '')
        if metadata_id.isdigit() and await Organization.exists(id=int(metadata_id)):
            return int(metadata_id)
        account = await BillingAccount.get_or_none(stripe_customer_id=subscription['customer'])
        return account.organization_id if account else None

    def _values(self, subscription: dict) -> dict:
        item = subscription['items']['data'][0]
        price = item['price']
        known = self.catalog.by_lookup_key(price.get('lookup_key'))
        if known:
            plan_id, interval = known[0].id, known[1].value
        else:  # a price made outside Portico: keep what Stripe says
            plan_id, interval = price.get('product', ''), (price.get('recurring') or {}).get('interval') or 'month'
        return {
            'stripe_subscription_id': subscription['id'],
            'plan_id': plan_id,
            'interval': interval,
            'status': subscription['status'],
            'seats': item.get('quantity') or 1,
            'price_id': price['id'],
            'item_id': item['id'],
            'current_period_end': from_timestamp(item.get('current_period_end')),
            'cancel_at_period_end': bool(subscription.get('cancel_at_period_end')),
            'cancel_at': from_timestamp(subscription.get('cancel_at')),
            'trial_end': from_timestamp(subscription.get('trial_end')),
            'default_payment_method': subscription.get('default_payment_method'),
            'pending_change': self._held_change(subscription),
            'pause_resumes_at': resumes_at(subscription),
        }

    def _held_change(self, subscription: dict) -> str:
        """A change held back until its payment is confirmed (Stripe's pending update), as the admin reads it."""
        items = (subscription.get('pending_update') or {}).get('subscription_items') or []
        if not items:
            return ''
        price = items[0]['price'] if isinstance(items[0]['price'], dict) else {'lookup_key': None}
        known = self.catalog.by_lookup_key(price.get('lookup_key'))
        seats = items[0].get('quantity') or 1
        plan = f'{known[0].name}, {known[1].adjective}, ' if known else ''
        return f'{plan}{plural(seats, "seat")}'


def _owed_values(owed: 'OwedInvoice | None', mirror: SubscriptionMirror | None, *, status: str) -> dict:
    """The banner's fields; `past_due_since` stays the first failure's time for as long as money is owed (a change
    waiting for 3-D Secure owes nothing yet)."""
    if owed is None:
        return {'past_due_since': None, 'open_invoice_id': '', 'open_invoice_amount': 0, 'open_invoice_currency': '',
                'next_payment_attempt': None, 'payment_error': '', 'payment_action_url': ''}  # fmt: skip
    since = mirror.past_due_since if mirror is not None and mirror.past_due_since else owed.first_failed_at
    since = since if status in OWING else None
    return {'past_due_since': since, 'open_invoice_id': owed.id, 'open_invoice_amount': owed.amount,
            'open_invoice_currency': owed.currency, 'next_payment_attempt': owed.next_attempt,
            'payment_error': owed.error, 'payment_action_url': owed.action_url}  # fmt: skip


def _scheduled_values(change: 'ScheduledChange | None') -> dict:
    if change is None:
        return {'schedule_id': '', 'scheduled_plan_id': '', 'scheduled_interval': '', 'scheduled_seats': None,
                'scheduled_at': None}  # fmt: skip
    return {
        'schedule_id': change.schedule_id,
        'scheduled_plan_id': change.plan_id,
        'scheduled_interval': change.interval,
        'scheduled_seats': change.seats,
        'scheduled_at': change.at,
    }


def resumes_at(subscription: dict) -> datetime | None:
    """When a paused subscription resumes by itself (its metadata), or None: until an admin resumes it."""
    if subscription.get('status') != 'paused':
        return None
    value = str((subscription.get('metadata') or {}).get(RESUMES_AT) or '')
    return datetime.fromtimestamp(int(value), UTC) if value.isdigit() else None

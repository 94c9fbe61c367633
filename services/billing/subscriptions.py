"""A live subscription: what the section shows, changes with their prorated price, seats, cancellation, resync.

Every change is previewed with Stripe's invoices.create_preview, then applied with the same proration date, kept
in the database with the preview's target (ChangePreview), so the amount shown is the amount charged, even when
Portico restarted between the two.
"""

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from db.models import ChangePreview as StoredPreview
from db.models import Organization, SubscriptionMirror
from services import audit
from services.auth import Session
from services.billing.auto_top_up import AutoTopUpStatus
from services.billing.catalog import CatalogSync
from services.billing.changes import change_summary, summary, token_warning, validated_change
from services.billing.context import BillingContext, Contexts
from services.billing.gateway import PaymentFailed, StripeGateway
from services.billing.mirror import (
    Mirror,
    cancellation_scheduled,
    grace_end,
    has_subscription,
    owes,
    scheduled_end,
    seats_allowed,
    seats_in_use,
)
from services.billing.payment_methods import Card, charged_card
from services.billing.previews import amounts, explanation
from services.errors import PermissionDenied, ValidationFailed
from services.moments import from_timestamp, long_date, now, whole
from services.plans import Interval, Plan, format_money
from services.settings import Settings
from services.words import plural

log = logging.getLogger('portico.billing')
PREVIEW_VALID_SECONDS = 900


@dataclass(frozen=True)
class BillingOverview:
    """Everything the Subscription section shows, read from the mirror only."""

    organization: Organization
    subscription: SubscriptionMirror | None
    plan: Plan | None
    token_balance: int
    seats_used: int
    seat_limit: int
    trial_days_left: int
    trial_end: datetime
    low_balance_threshold: int | None = None
    grace_ends_at: datetime | None = None  # while past due: until when the product still serves the organization
    scheduled_plan: Plan | None = None  # the plan of a change at the period's end, if one is scheduled
    trial_seats: int = 3  # what an organization without a subscription may enable (TRIAL_SEATS)
    auto_top_up: AutoTopUpStatus | None = None  # on a plan that uses tokens

    @property
    def owes(self) -> bool:
        """Whether a payment failed and is still owed: the section shows the banner, with "Pay now"."""
        return owes(self.subscription)

    @property
    def subscribed(self) -> bool:
        """Whether the section shows the subscription (its cogwheel) rather than the trial: also while it is
        paused or unpaid, which the product does not serve."""
        return has_subscription(self.subscription)

    @property
    def cancellation_scheduled(self) -> bool:
        return self.subscribed and cancellation_scheduled(self.subscription)


@dataclass(frozen=True)
class ChangePreview:
    plan_name: str
    interval: str
    seats: int
    currency: str
    due_today: int
    credit: int  # what a downgrade leaves on the balance, taken off the next invoices
    next_amount: int
    next_date: datetime
    lines: list[str]  # each line of today's invoice with its amount
    warning: str | None
    explanation: str | None = None  # the period the proration covers, and what for (`previews.explanation`)
    card: Card | None = None  # the card charged, today and at renewal


@dataclass(frozen=True, kw_only=True)
class Subscriptions:
    settings: Settings
    gateway: StripeGateway
    contexts: Contexts
    prices: CatalogSync
    mirror: Mirror

    # ----- reading ----------------------------------------------------------------------------------------

    async def overview(self, *, session: Session | None) -> BillingOverview:
        context = await self.contexts.of(session)
        organization = context.organization
        return BillingOverview(
            organization=organization, subscription=context.subscription, plan=context.plan,
            token_balance=context.account.token_balance, seats_used=await seats_in_use(organization.id),
            seat_limit=seats_allowed(context.subscription, trial_seats=self.settings.trial_seats),
            trial_days_left=self.trial_days_left(organization), trial_end=self.trial_end(organization),
            low_balance_threshold=context.account.low_balance_threshold,
            grace_ends_at=grace_end(context.subscription, grace_days=self.settings.grace_days),
            auto_top_up=await AutoTopUpStatus.of(context.account, context.plan),
            scheduled_plan=self.contexts.plan(context.subscription.scheduled_plan_id) if context.subscription else None,
            trial_seats=self.settings.trial_seats,
        )  # fmt: skip

    def trial_end(self, organization: Organization) -> datetime:
        return organization.created_at + timedelta(days=self.settings.trial_days)

    def trial_days_left(self, organization: Organization) -> int:
        return max(0, math.ceil((self.trial_end(organization) - now()).total_seconds() / 86400))

    # ----- changing ---------------------------------------------------------------------------------------

    async def preview_change(
        self, *, session: Session | None, plan_id: str, interval: str, seats: int
    ) -> ChangePreview:
        return await self._preview(await self.contexts.of(session, subscribed=True), plan_id, interval, seats)

    async def apply_change(
        self, *, session: Session | None, plan_id: str, interval: str, seats: int
    ) -> SubscriptionMirror:
        """Change plan, interval and seats now, invoicing the proration at once; a refused card changes nothing, and
        a card that asks for 3-D Secure holds the change until the payment is confirmed (`mirror.pending_change`)."""
        async with self.contexts.exclusive(session) as context:
            return await self._apply(context, plan_id, interval, seats)

    async def preview_add_seats(
        self, *, session: Session | None, seats_to_add: int, from_seats: int | None = None
    ) -> ChangePreview:
        context = await self.contexts.of(session, subscribed=True)
        subscription = context.subscription
        seats = _seats_after(subscription, seats_to_add, from_seats)
        return await self._preview(context, subscription.plan_id, subscription.interval, seats)

    async def add_seats(
        self, *, session: Session | None, seats_to_add: int, from_seats: int | None = None
    ) -> SubscriptionMirror:
        """The same service as a change, with seats only.

        `from_seats` is the seat count the admin saw when asking (the dialog passes it): the request means "from
        `from_seats` to `from_seats + seats_to_add`", so a second click or a retry of the same request, once the
        first has landed, finds its target reached and changes nothing.
        """
        async with self.contexts.exclusive(session) as context:
            subscription = context.subscription
            target = _seats_after(subscription, seats_to_add, from_seats)
            if from_seats is not None and subscription.seats == target:
                return subscription  # this very request already went through
            return await self._apply(context, subscription.plan_id, subscription.interval, target)

    async def _preview(self, context: BillingContext, plan_id: str, interval: str, seats: int) -> ChangePreview:
        plan, price = await validated_change(self.contexts, self.prices, context, plan_id, interval, seats)
        proration_date = await _remember_preview(context.organization.id, plan_id, interval, seats)
        details = {
            'items': [{'id': context.subscription.item_id, 'price': price, 'quantity': seats}],
            'proration_behavior': 'always_invoice',
            'proration_date': proration_date,
        }
        subscription_id = context.subscription.stripe_subscription_id
        ids = {'customer': context.account.stripe_customer_id, 'subscription': subscription_id}
        today = await self.gateway.call('invoices', 'create_preview', **ids, subscription_details=details)
        upcoming = await self.gateway.call(
            'invoices', 'create_preview', **ids, subscription_details=details, preview_mode='recurring'
        )
        names = {price: (plan.name, Interval(interval))}
        if context.plan and (current := Interval.of(context.subscription.interval)):
            names[context.subscription.price_id] = (context.plan.name, current)
        lines = today['lines']['data']
        return ChangePreview(
            plan_name=plan.name, interval=interval, seats=seats, currency=today['currency'],
            due_today=today['amount_due'], credit=max(0, -today['total']), next_amount=upcoming['amount_due'],
            next_date=from_timestamp(upcoming.get('next_payment_attempt') or upcoming['period_end']),
            lines=amounts(lines, names, today['currency']), explanation=explanation(lines, names),
            warning=token_warning(context, plan), card=await charged_card(self.gateway, context),
        )  # fmt: skip

    async def _apply(self, context: BillingContext, plan_id: str, interval: str, seats: int) -> SubscriptionMirror:
        plan, price = await validated_change(self.contexts, self.prices, context, plan_id, interval, seats)
        if context.subscription.scheduled_at:
            raise PermissionDenied('Cancel the scheduled change before changing the subscription now.')
        if context.subscription.schedule_id:  # a schedule whose last phase runs now: nothing of it is to come
            await self.gateway.call('subscription_schedules', 'release', context.subscription.schedule_id)
        proration_date = await _shown_preview(context.organization.id, plan_id, interval, seats) or int(time.time())
        before = summary(context.subscription)
        try:
            updated = await self.gateway.call(
                'subscriptions', 'update', context.subscription.stripe_subscription_id,
                # The proration date is in the key: a retry after a new preview is a new request, not a conflict.
                key=context.key(f'change-{plan_id}-{interval}-{seats}-at{proration_date}'),
                items=[{'id': context.subscription.item_id, 'price': price, 'quantity': seats}],
                proration_behavior='always_invoice', proration_date=proration_date,
                # A card that asks for 3-D Secure holds the change back until the payment is confirmed.
                payment_behavior='pending_if_incomplete', expand=['latest_invoice'],
            )  # fmt: skip
        except PaymentFailed as refusal:
            async with in_transaction():
                await self.contexts.next_revision(context.account)  # a new attempt needs a fresh key
                await audit.record(
                    actor=context.admin, action='billing.change_refused', target_type='subscription', before=before,
                    after={**change_summary(plan, interval, seats), 'reason': str(refusal)},
                )  # fmt: skip
            raise
        invoice = updated.get('latest_invoice') or {}
        charged = format_money(invoice.get('amount_paid', 0), invoice.get('currency', plan.currency))
        held = bool(updated.get('pending_update'))
        mirror = await self.contexts.settle(
            context, updated, action='billing.change_awaits_confirmation' if held else 'billing.subscription_changed',
            before=before, after={**change_summary(plan, interval, seats), 'charged_today': charged},
        )  # fmt: skip
        await StoredPreview.filter(organization_id=context.organization.id, plan_id=plan_id, interval=interval,
                                   seats=seats).delete()  # fmt: skip
        return mirror

    # ----- cancellation -----------------------------------------------------------------------------------

    async def cancel(self, *, session: Session | None, reason: str = '') -> SubscriptionMirror:
        async with self.contexts.exclusive(session) as context:
            if context.subscription.scheduled_at:
                raise PermissionDenied('Cancel the scheduled change before cancelling the subscription.')
            reason = (reason or '').strip()[:500]
            params = {'cancel_at_period_end': True}
            if reason:
                params['cancellation_details'] = {'comment': reason}
            updated = await self.gateway.call(
                'subscriptions', 'update', context.subscription.stripe_subscription_id,
                key=context.key(f'cancel-{hashlib.sha256(reason.encode()).hexdigest()[:12]}'), **params,
            )  # fmt: skip
            return await self.contexts.settle(
                context, updated, action='billing.cancellation_scheduled', before=summary(context.subscription),
                after={'ends_on': long_date(context.subscription.current_period_end), 'reason': reason},
            )  # fmt: skip

    async def remove_cancellation(self, *, session: Session | None) -> SubscriptionMirror:
        """Undo a scheduled end, whether it was set here (cancel_at_period_end) or elsewhere (cancel_at)."""
        async with self.contexts.exclusive(session) as context:
            updated = await self.gateway.call(
                'subscriptions', 'update', context.subscription.stripe_subscription_id, key=context.key('uncancel'),
                cancel_at_period_end=False, cancel_at='',
            )  # fmt: skip
            return await self.contexts.settle(
                context, updated, action='billing.cancellation_removed',
                before={**summary(context.subscription), 'ends_on': long_date(scheduled_end(context.subscription))},
                after={'renews_on': long_date(context.subscription.current_period_end)},
            )  # fmt: skip


async def _remember_preview(organization_id: int, plan_id: str, interval: str, seats: int) -> int:
    """Keep the proration date of a preview now shown, for Confirm to use."""
    proration_date = int(time.time())
    target = {'organization_id': organization_id, 'plan_id': plan_id, 'interval': interval, 'seats': seats}
    expires = now() + timedelta(seconds=PREVIEW_VALID_SECONDS)
    await StoredPreview.filter(expires_at__lt=now()).delete()
    await StoredPreview.update_or_create(defaults={'proration_date': proration_date, 'expires_at': expires}, **target)
    return proration_date


async def _shown_preview(organization_id: int, plan_id: str, interval: str, seats: int) -> int | None:
    preview = await StoredPreview.get_or_none(organization_id=organization_id, plan_id=plan_id, interval=interval,
                                              seats=seats, expires_at__gt=now())  # fmt: skip
    return preview.proration_date if preview else None


def _seats_after(subscription: SubscriptionMirror, seats_to_add, from_seats: int | None) -> int:
    base = subscription.seats if from_seats is None else from_seats
    added = whole(seats_to_add)
    if added is None or added < 1:
        raise ValidationFailed({'seats_to_add': 'Add at least 1 seat.'})
    target = base + added
    if subscription.seats not in (base, target):
        now_has = plural(subscription.seats, 'seat')
        raise ValidationFailed({'seats_to_add': f'Your subscription now has {now_has}: close this form and try again.'})
    return target

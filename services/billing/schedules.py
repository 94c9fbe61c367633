"""Changes at the end of the current period ("At the end of the current period" in "Edit subscription"), through a
Stripe subscription schedule, and "Cancel scheduled change".

The schedule's first phase is the current period as it is; its second is the new plan, interval and seats for one
period, after which Stripe releases the schedule and the subscription goes on as changed. Nothing is charged or
credited now: the renewal at the period's end is invoiced at the new price. A seat count below the users enabled is
refused when the change is scheduled, as for a change made now. "Cancel scheduled change" releases the schedule at
once, which keeps the subscription as it is.
"""

from dataclasses import dataclass
from datetime import datetime

from db.models import SubscriptionMirror
from services.auth import Session
from services.billing.catalog import CatalogSync
from services.billing.changes import change_summary, summary, token_warning, validated_change
from services.billing.context import BillingContext, Contexts
from services.billing.gateway import StripeGateway
from services.billing.payment_methods import Card, charged_card
from services.errors import PermissionDenied
from services.moments import from_timestamp, long_date
from services.plans import Catalog, Interval, format_money
from services.words import plural


@dataclass(frozen=True)
class ScheduledChange:
    schedule_id: str
    plan_id: str = ''
    interval: str = ''
    seats: int | None = None
    at: datetime | None = None  # None: the schedule has no phase to come (its last phase runs now)


async def scheduled_change(gateway: StripeGateway, catalog: Catalog, subscription: dict) -> ScheduledChange | None:
    """The subscription's next phase, read from its schedule; None without a schedule."""
    schedule_id = subscription.get('schedule')
    schedule_id = schedule_id.get('id') if isinstance(schedule_id, dict) else schedule_id
    if not schedule_id:
        return None
    schedule = await gateway.call('subscription_schedules', 'retrieve', schedule_id)
    period_end = subscription['items']['data'][0]['current_period_end']
    coming = [phase for phase in schedule.get('phases') or [] if phase['start_date'] >= period_end]
    if schedule['status'] != 'active' or not coming:
        return ScheduledChange(schedule_id=schedule_id)
    item = coming[0]['items'][0]
    price = item['price']
    price = price if isinstance(price, dict) else await gateway.call('prices', 'retrieve', price)
    known = catalog.by_lookup_key(price.get('lookup_key'))
    return ScheduledChange(
        schedule_id=schedule_id, plan_id=known[0].id if known else price.get('product', ''),
        interval=known[1].value if known else (price.get('recurring') or {}).get('interval', ''),
        seats=item.get('quantity') or 1, at=from_timestamp(coming[0]['start_date']),
    )  # fmt: skip


@dataclass(frozen=True)
class ScheduledPreview:
    """What "At the end of the current period" means, in the dialog's words (no charge today)."""

    plan_name: str
    interval: str
    seats: int
    currency: str
    amount: int  # each period from `on`
    on: datetime
    warning: str | None = None
    card: Card | None = None  # the card the renewals are charged to

    @property
    def lines(self) -> list[str]:
        per = Interval(self.interval).adjective
        return ['Nothing is charged or credited today.',
                f'From {long_date(self.on)}: {self.plan_name}, {plural(self.seats, "seat")}, '
                f'{format_money(self.amount, self.currency)} {per}.']  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ScheduledChanges:
    gateway: StripeGateway
    contexts: Contexts
    prices: CatalogSync

    async def preview(self, *, session: Session | None, plan_id: str, interval: str, seats: int) -> ScheduledPreview:
        context = await self.contexts.of(session, subscribed=True)
        plan, _ = await validated_change(self.contexts, self.prices, context, plan_id, interval, seats)
        return ScheduledPreview(
            plan_name=plan.name, interval=interval, seats=seats, currency=plan.currency,
            amount=plan.price(interval) * seats, on=context.subscription.current_period_end,
            warning=token_warning(context, plan), card=await charged_card(self.gateway, context),
        )  # fmt: skip

    async def schedule(self, *, session: Session | None, plan_id: str, interval: str, seats: int) -> SubscriptionMirror:
        async with self.contexts.exclusive(session) as context:
            plan, price = await validated_change(self.contexts, self.prices, context, plan_id, interval, seats)
            subscription = context.subscription
            stripe_id = subscription.stripe_subscription_id
            current = await self.gateway.call('subscriptions', 'retrieve', stripe_id)
            item = current['items']['data'][0]
            schedule_id = subscription.schedule_id or (await self.gateway.call(
                'subscription_schedules', 'create', from_subscription=stripe_id, key=context.key('schedule'),
            ))['id']  # fmt: skip
            await self.gateway.call(
                'subscription_schedules', 'update', schedule_id, end_behavior='release',
                key=context.key(f'phases-{plan_id}-{interval}-{seats}'), phases=[
                    {'items': [{'price': item['price']['id'], 'quantity': item['quantity']}],
                     'start_date': item['current_period_start'], 'end_date': item['current_period_end']},
                    {'items': [{'price': price, 'quantity': seats}], 'iterations': 1},
                ],
            )  # fmt: skip
            updated = await self.gateway.call('subscriptions', 'retrieve', stripe_id)
            return await self.contexts.settle(
                context, updated, action='billing.change_scheduled', before=summary(subscription),
                after={**change_summary(plan, interval, seats), 'on': long_date(subscription.current_period_end)},
            )  # fmt: skip

    async def cancel(self, *, session: Session | None) -> SubscriptionMirror:
        async with self.contexts.exclusive(session) as context:
            subscription = context.subscription
            if not subscription.scheduled_at:
                raise PermissionDenied('No change is scheduled.')
            released = await self.release(context)
            return await self.contexts.settle(
                context, released, action='billing.scheduled_change_cancelled', before={
                    'plan': subscription.scheduled_plan_id, 'interval': subscription.scheduled_interval,
                    'seats': subscription.scheduled_seats,
                    'plan_name': getattr(self.contexts.plan(subscription.scheduled_plan_id), 'name', '')},
                after=summary(subscription),
            )  # fmt: skip

    async def release(self, context: BillingContext) -> dict:
        """Release the subscription's schedule (nothing changes); returns the subscription as Stripe has it now."""
        subscription = context.subscription
        await self.gateway.call('subscription_schedules', 'release', subscription.schedule_id,
                                key=context.key('release'))  # fmt: skip
        return await self.gateway.call('subscriptions', 'retrieve', subscription.stripe_subscription_id)

"""Pausing and resuming the subscription ("Pause subscription", "Resume subscription"), through Stripe's
`subscriptions.pause` / `resume` (endive).

Stripe pauses until someone resumes. A pause "for N billing periods" keeps its end in Stripe, as the subscription's
metadata `portico_resumes_at` (Unix time, counted from Stripe's own pause time, which is the test clock's in tests),
and Portico's housekeeping resumes it when that time has come (`resume_due`). Pausing credits the unused part of the
period (Stripe's default `bill_for`); resuming starts a new period at once and charges it, less that credit; if that
charge fails, the subscription is past due, as after any failed payment.
"""

import calendar
from dataclasses import dataclass
from datetime import datetime

from db.models import SubscriptionMirror
from services import audit
from services.auth import Session
from services.billing.context import Contexts
from services.billing.gateway import StripeGateway
from services.billing.mirror import RESUMES_AT, Mirror, cancellation_scheduled
from services.errors import PermissionDenied, ValidationFailed
from services.moments import from_timestamp, long_date, now
from services.plans import Interval

PERIOD_CHOICES = (1, 2, 3)  # billing periods; None: until an admin resumes it


def resume_date(start: datetime, interval: str, periods: int | None) -> datetime | None:
    """`periods` billing periods after `start` (the same day of the month, or the month's last day), or None."""
    if periods is None:
        return None
    months = (Interval.of(interval) or Interval.MONTH).months * periods
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, kw_only=True)
class Pausing:
    gateway: StripeGateway
    contexts: Contexts
    mirror: Mirror

    async def pause(self, *, session: Session | None, periods: int | None) -> SubscriptionMirror:
        if periods is not None and periods not in PERIOD_CHOICES:
            raise ValidationFailed({'periods': 'Choose 1, 2 or 3 billing periods, or until you resume it.'})
        async with self.contexts.exclusive(session) as context:
            subscription = context.subscription
            if subscription.status != 'active':
                raise PermissionDenied(f'Only an active subscription can be paused; yours is {subscription.status}.')
            if cancellation_scheduled(subscription):
                raise PermissionDenied('Remove the scheduled cancellation before pausing the subscription.')
            if subscription.schedule_id:
                raise PermissionDenied('Cancel the scheduled change before pausing the subscription.')
            paused = await self.gateway.call('subscriptions', 'pause', subscription.stripe_subscription_id,
                                             key=context.key('pause'))  # fmt: skip
            since = ((paused.get('status_details') or {}).get('paused') or {}).get('transitioned_at')
            resumes = resume_date(from_timestamp(since) or now(), subscription.interval, periods)
            paused = await self.gateway.call(
                'subscriptions',
                'update',
                subscription.stripe_subscription_id,
                metadata={RESUMES_AT: str(int(resumes.timestamp())) if resumes else ''},
            )
            return await self.contexts.settle(
                context, paused, action='billing.subscription_paused', before={'status': subscription.status},
                after={'status': 'paused', 'resumes_on': long_date(resumes) if resumes else 'when an admin resumes it'},
            )  # fmt: skip

    async def resume(self, *, session: Session | None) -> SubscriptionMirror:
        async with self.contexts.exclusive(session, subscribed=False) as context:
            if context.subscription is None or context.subscription.status != 'paused':
                raise PermissionDenied('The subscription is not paused.')
            resumed = await self._resume(context.subscription, key=context.key('resume'))
            return await self.contexts.settle(
                context,
                resumed,
                action='billing.subscription_resumed',
                before={'status': 'paused'},
                after={'status': resumed['status']},
            )

    async def resume_due(self) -> int:
        """Housekeeping: resume every subscription whose pause for N billing periods is over."""
        resumed = 0
        due = SubscriptionMirror.filter(status='paused', pause_resumes_at__lte=now())
        for organization_id in await due.values_list('organization_id', flat=True):
            async with self.contexts.exclusive_for(organization_id):
                subscription = await SubscriptionMirror.get_or_none(organization_id=organization_id)
                if subscription is None or subscription.status != 'paused' or not subscription.pause_resumes_at:
                    continue  # resumed meanwhile
                done = await self._resume(subscription, key=f'portico-org{organization_id}-resume-due-'
                                          f'{int(subscription.pause_resumes_at.timestamp())}')  # fmt: skip
                await self.mirror.write(done, organization_id=organization_id)
                await audit.record_system(organization_id=organization_id, action='billing.subscription_resumed',
                                          target_type='subscription', after={'status': done['status'],
                                                                             'when': 'the pause ended'})  # fmt: skip
            self.contexts.publish(organization_id)
            resumed += 1
        return resumed

    async def _resume(self, subscription: SubscriptionMirror, *, key: str) -> dict:
        subscription_id = subscription.stripe_subscription_id
        await self.gateway.call('subscriptions', 'resume', subscription_id, key=key,
                                payment_behavior='resume_on_payment_attempt')  # fmt: skip
        return await self.gateway.call('subscriptions', 'update', subscription_id, metadata={RESUMES_AT: ''})

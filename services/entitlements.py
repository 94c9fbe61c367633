"""What an organization may use, as the product sees it: its plan and status, whether it is live, its trial, seats,
tokens and scheduled end. Read from the mirror and the trial alone, never from Stripe.

An organization is live while its subscription is active or trialing, for GRACE_DAYS after its first failed payment
while it is past due (not when unpaid), or, while it has never had one, during its trial of TRIAL_DAYS. When that
changes (a subscription starts or ends, the trial or the grace ends), the product hears `subscription.updated`, once
per change.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q

from db.models import BillingAccount, Organization, ProductState, SubscriptionMirror, User
from services.billing.mirror import grace_end, is_live, scheduled_end, seats_allowed, seats_in_use
from services.moments import now
from services.plans import Catalog, Plan
from services.product_webhooks import ProductWebhooks
from services.settings import Settings


@dataclass(frozen=True)
class Entitlements:
    organization_id: int
    organization_name: str
    plan: Plan | None
    status: str  # the subscription's status, or 'trial' / 'trial_ended' without one
    is_live: bool
    trial_start: datetime
    trial_end: datetime
    seat_limit: int
    seats_in_use: int
    token_balance: int
    scheduled_end: datetime | None
    past_due_since: datetime | None = None
    grace_ends_at: datetime | None = None

    def announced(self) -> dict:
        """What `subscription.updated` tells of; a change of any of it is told (balance and seats in use are not:
        `tokens.low_balance` and the user events tell of those)."""
        return {
            'plan': self.plan.id if self.plan else None, 'status': self.status, 'is_live': self.is_live,
            'trial_end': self.trial_end.isoformat(), 'seat_limit': self.seat_limit,
            'scheduled_end': self.scheduled_end.isoformat() if self.scheduled_end else None,
            'past_due_since': self.past_due_since.isoformat() if self.past_due_since else None,
            'grace_ends_at': self.grace_ends_at.isoformat() if self.grace_ends_at else None,
        }  # fmt: skip


@dataclass(frozen=True)
class Liveness:
    organization_id: int
    status: str
    is_live: bool


class EntitlementsReader:
    def __init__(self, *, settings: Settings, catalog: Catalog, product: ProductWebhooks) -> None:
        self.settings = settings
        self.catalog = catalog
        self.product = product

    async def of(self, organization: Organization) -> Entitlements:
        subscription = await SubscriptionMirror.get_or_none(organization_id=organization.id)
        account = await BillingAccount.get_or_none(organization_id=organization.id)
        trial_end = organization.created_at + timedelta(days=self.settings.trial_days)
        status, live = self._status(organization, subscription)
        return Entitlements(
            organization_id=organization.id, organization_name=organization.name,
            plan=self._plan(subscription.plan_id) if subscription else None, status=status, is_live=live,
            trial_start=organization.created_at, trial_end=trial_end,
            seat_limit=seats_allowed(subscription, trial_seats=self.settings.trial_seats),
            seats_in_use=await seats_in_use(organization.id), token_balance=account.token_balance if account else 0,
            scheduled_end=scheduled_end(subscription) if subscription else None,
            past_due_since=subscription.past_due_since if subscription else None,
            grace_ends_at=self._grace_end(subscription),
        )  # fmt: skip

    def _status(self, organization: Organization, subscription: SubscriptionMirror | None) -> tuple[str, bool]:
        if subscription is not None:
            if (grace_end := self._grace_end(subscription)) is not None:
                return subscription.status, now() < grace_end
            return subscription.status, is_live(subscription)
        live = now() < organization.created_at + timedelta(days=self.settings.trial_days)
        return ('trial' if live else 'trial_ended'), live

    def _grace_end(self, subscription: SubscriptionMirror | None) -> datetime | None:
        return grace_end(subscription, grace_days=self.settings.grace_days)

    async def liveness(self, organization_id: int) -> Liveness | None:
        """Only whether the organization is live, and its status: what spending a token asks (two queries)."""
        organization = await Organization.get_or_none(id=organization_id)
        if organization is None:
            return None
        status, live = self._status(organization, await SubscriptionMirror.get_or_none(organization_id=organization_id))
        return Liveness(organization_id=organization_id, status=status, is_live=live)

    async def of_id(self, organization_id: int) -> Entitlements | None:
        organization = await Organization.get_or_none(id=organization_id)
        return await self.of(organization) if organization else None

    async def announce_if_changed(self, organization_id: int) -> bool:
        """Queue `subscription.updated` if what the product was last told no longer holds; inside the change's
        transaction, like every product event."""
        entitlements = await self.of_id(organization_id)
        if entitlements is None:
            return False
        told = await ProductState.get_or_none(organization_id=organization_id)
        current = entitlements.announced()
        if told is not None and told.entitlements == current:
            return False
        if told is None:
            await ProductState.create(organization_id=organization_id, entitlements=current)
        else:
            await ProductState.filter(organization_id=organization_id).update(entitlements=current)
        await self.product.enqueue(organization_id, 'subscription.updated', {'organization_id': organization_id,
                                                                             **current})  # fmt: skip
        return True

    async def sweep_trials(self) -> int:
        """The trials and the past-due grace periods that ended since the last sweep: each organization's product
        hears it once."""
        if not self.product.enabled:
            return 0
        ended = Organization.filter(created_at__lt=now() - timedelta(days=self.settings.trial_days),
                                    subscription__id__isnull=True)  # fmt: skip
        graceless = SubscriptionMirror.filter(
            status='past_due', past_due_since__lt=now() - timedelta(days=self.settings.grace_days)
        )
        told = 0
        for organization_id in [*await ended.values_list('id', flat=True),
                                *await graceless.values_list('organization_id', flat=True)]:  # fmt: skip
            told += await self.announce_if_changed(organization_id)
        return told

    def _plan(self, plan_id: str) -> Plan | None:
        try:
            return self.catalog.get(plan_id)
        except KeyError:
            return None


@dataclass(frozen=True)
class Page:
    rows: list
    has_more: bool


async def organizations_page(*, email_domain: str | None, limit: int, starting_after: int | None) -> Page:
    """Organizations, newest first, optionally those with a user or billing email at `email_domain`."""
    found = Organization.all()
    if email_domain:
        domain = '@' + email_domain.strip().lower().lstrip('@')
        found = found.filter(Q(users__email__endswith=domain) | Q(billing_email__iendswith=domain)).distinct()
    if starting_after is not None:
        found = found.filter(id__lt=starting_after)
    rows = await found.order_by('-id').limit(limit + 1)
    return Page(rows=rows[:limit], has_more=len(rows) > limit)


async def users_page(*, email: str | None, limit: int, starting_after: int | None) -> Page:
    """Users, newest first, optionally the one with `email` (addresses are stored lower-cased)."""
    found = User.all()
    if email:
        found = found.filter(email=email.strip().lower())
    if starting_after is not None:
        found = found.filter(id__lt=starting_after)
    rows = await found.order_by('-id').limit(limit + 1)
    return Page(rows=rows[:limit], has_more=len(rows) > limit)

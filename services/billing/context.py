"""What every billing action starts from: the caller, re-checked, with the organization's account and mirror.

An action that changes billing holds the organization's lock (`exclusive`) from its read of the mirror to its write,
so two clicks never both act on the same old state. Writes to Stripe carry idempotency keys built from the
organization, the action and the account's revision, which moves on after each change: a double click or a retry
changes Stripe once, and the next request of the same kind is a new one.
"""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db.models import BillingAccount, Organization, SubscriptionMirror, User
from services import audit
from services.auth import Session, require_admin
from services.billing.mirror import Mirror, is_live
from services.errors import PermissionDenied
from services.events import Events, billing_changed
from services.locks import Locks
from services.plans import Catalog, Plan


@dataclass(frozen=True)
class BillingContext:
    admin: User
    organization: Organization
    account: BillingAccount
    subscription: SubscriptionMirror | None
    plan: Plan | None

    def key(self, action: str) -> str:
        """The idempotency key of `action` for this organization at its current revision."""
        return f'portico-org{self.organization.id}-{action}-r{self.account.revision}'


@dataclass(frozen=True, kw_only=True)
class Contexts:
    catalog: Catalog
    mirror: Mirror
    locks: Locks
    events: Events

    def exclusive_for(self, organization_id: int):
        """No other billing change of this organization runs meanwhile."""
        return self.locks.one_at_a_time('billing', organization_id)

    def plan(self, plan_id: str) -> Plan | None:
        try:
            return self.catalog.get(plan_id)
        except KeyError:
            return None

    async def of(self, session: Session | None, *, subscribed: bool = False) -> BillingContext:
        """The caller's context; with `subscribed`, PermissionDenied unless the subscription is live."""
        admin = await require_admin(session)
        organization = admin.organization
        account, _ = await BillingAccount.get_or_create(organization_id=organization.id)
        subscription = await SubscriptionMirror.get_or_none(organization_id=organization.id)
        if subscribed and not is_live(subscription):
            if subscription is not None and subscription.status == 'paused':
                raise PermissionDenied('Your subscription is paused: resume it first.')
            raise PermissionDenied('Your organization has no active subscription. Choose one first.')
        plan = self.plan(subscription.plan_id) if subscription else None
        return BillingContext(admin=admin, organization=organization, account=account, subscription=subscription,
                              plan=plan)  # fmt: skip

    @contextlib.asynccontextmanager
    async def exclusive(self, session: Session | None, *, subscribed: bool = True) -> AsyncIterator[BillingContext]:
        """The caller's context, read and used while no other change of the organization runs."""
        admin = await require_admin(session)
        async with self.exclusive_for(admin.organization_id):
            # Read again under the lock: the caller may have been disabled while waiting for it.
            yield await self.of(session, subscribed=subscribed)

    async def next_revision(self, account: BillingAccount) -> None:
        await BillingAccount.filter(id=account.id).update(revision=F('revision') + 1)

    async def settle(self, context: BillingContext, updated: dict, *, action: str, before: dict, after: dict):
        """Mirror what Stripe now says, move the revision on and audit, in one transaction; then tell open pages."""
        async with in_transaction():
            mirror = await self.mirror.write(updated, organization_id=context.organization.id)
            await self.next_revision(context.account)
            await audit.record(
                actor=context.admin, action=action, target_type='subscription',
                target_label=context.plan.name if context.plan else '', before=before, after=after,
            )  # fmt: skip
        self.publish(context.organization.id)
        return mirror

    def publish(self, organization_id: int) -> None:
        self.events.publish(billing_changed(organization_id))


async def checkout_owner(checkout: dict) -> int | None:
    """The organization a Checkout session was made for, if it is one of this Portico's."""
    reference = checkout.get('client_reference_id') or (checkout.get('metadata') or {}).get('organization_id')
    if reference and str(reference).isdigit() and await Organization.exists(id=int(reference)):
        return int(reference)
    return None

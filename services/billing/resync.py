"""Keeping the mirror in step with Stripe: a webhook's subscription, and "Resync with Stripe" (also at start-up),
which rebuilds an organization's mirror from every subscription Stripe has for its customer."""

import logging
from dataclasses import dataclass

from db.models import BillingAccount, SubscriptionMirror
from services import audit
from services.auth import Session
from services.billing.context import Contexts
from services.billing.gateway import StripeGateway
from services.billing.mirror import Mirror, comparable

log = logging.getLogger('portico.billing')


@dataclass(frozen=True, kw_only=True)
class Resync:
    gateway: StripeGateway
    contexts: Contexts
    mirror: Mirror

    async def sync(self, subscription: dict) -> SubscriptionMirror | None:
        """Overwrite the mirror with the subscription as Stripe has it now (`subscription` is only a hint of which)."""
        organization_id = await self.mirror.organization_of(subscription)
        if organization_id is None:
            log.warning('subscription %s belongs to no organization of this Portico', subscription['id'])
            return None
        async with self.contexts.exclusive_for(organization_id):
            current = await self.gateway.call('subscriptions', 'retrieve', subscription['id'])
            mirror = await self.mirror.write(current, organization_id=organization_id)
        if mirror is not None:
            self.contexts.publish(mirror.organization_id)
        return mirror

    async def resync(self, *, session: Session | None) -> list[str]:
        """Rebuild the organization's mirror from Stripe and say what differed."""
        context = await self.contexts.of(session)
        differences = await self.resync_organization(context.organization.id)
        await audit.record(actor=context.admin, action='billing.resynced', target_type='subscription',
                           after={'differences': differences or ['none']})  # fmt: skip
        return differences

    async def resync_organization(self, organization_id: int) -> list[str]:
        account = await BillingAccount.get_or_none(organization_id=organization_id)
        if account is None or not account.stripe_customer_id:
            return []
        async with self.contexts.exclusive_for(organization_id):
            before = comparable(await SubscriptionMirror.get_or_none(organization_id=organization_id))
            found = await self.gateway.list_all('subscriptions', customer=account.stripe_customer_id, status='all')
            for subscription in sorted(found, key=lambda s: s['created']):
                await self.mirror.write(subscription, organization_id=organization_id)
            after = comparable(await SubscriptionMirror.get_or_none(organization_id=organization_id))
        differences = [f'{field}: {before.get(field)} → {value}' for field, value in after.items()
                       if before.get(field) != value]  # fmt: skip
        if differences:
            self.contexts.publish(organization_id)
        return differences

    async def resync_all(self) -> None:
        """At start-up, in the background: catch up with anything that happened while Portico was down."""
        for account in await BillingAccount.exclude(stripe_customer_id=None):
            try:
                if differences := await self.resync_organization(account.organization_id):
                    log.info('resync of organization %s: %s', account.organization_id, '; '.join(differences))
            except Exception:
                log.exception('resync of organization %s failed', account.organization_id)

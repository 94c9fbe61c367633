"""The organization's Stripe customer: created once, kept as the organization's details say."""

from dataclasses import dataclass

from db.models import BillingAccount, Organization
from services.billing.gateway import StripeGateway
from services.events import Events, billing_changed


@dataclass(frozen=True, kw_only=True)
class Customers:
    gateway: StripeGateway
    events: Events

    async def ensure(self, organization: Organization) -> BillingAccount:
        """The organization's billing account with its Stripe customer, created once (idempotent on its key)."""
        account, _ = await BillingAccount.get_or_create(organization_id=organization.id)
        if account.stripe_customer_id:
            return account
        customer = await self.gateway.call(
            'customers', 'create', key=f'portico-org{organization.id}-customer', **customer_fields(organization)
        )
        await BillingAccount.filter(id=account.id, stripe_customer_id=None).update(stripe_customer_id=customer['id'])
        return await BillingAccount.get(id=account.id)

    async def update(self, organization: Organization) -> None:
        """Keep the Stripe customer's name, email, address and tax ID as the organization's details."""
        account = await BillingAccount.get_or_none(organization_id=organization.id)
        if account and account.stripe_customer_id:
            await self.gateway.call('customers', 'update', account.stripe_customer_id, **customer_fields(organization))

    async def changed(self, customer_id: str) -> None:
        """A webhook about the customer or its cards: open pages of that organization refresh what they show."""
        account = await BillingAccount.get_or_none(stripe_customer_id=customer_id)
        if account is not None:
            self.events.publish(billing_changed(account.organization_id))


def customer_fields(organization: Organization) -> dict:
    address = {
        'line1': organization.address_line1,
        'line2': organization.address_line2,
        'postal_code': organization.postal_code,
        'city': organization.city,
        'country': organization.country,
    }
    return {
        'name': organization.name,
        'email': organization.billing_email or None,
        'address': address if any(address.values()) else None,
        'metadata': {'organization_id': str(organization.id), 'tax_id': organization.tax_id},
    }

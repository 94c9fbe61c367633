"""The organization's Stripe customer: created once, kept as the organization's details say, with its VAT/tax ID as
Stripe's tax ID object, which invoices print."""

import logging
from dataclasses import dataclass

from db.models import BillingAccount, Organization
from services.billing.gateway import StripeGateway, TaxIdRefused
from services.errors import ValidationFailed
from services.events import Events, billing_changed
from services.locks import one_at_a_time
from services.tax_ids import TaxId, stripe_tax_id

log = logging.getLogger('portico.billing')


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
        account = await BillingAccount.get(id=account.id)
        try:
            await self._replace_tax_ids(account.stripe_customer_id, organization)
        except TaxIdRefused as refusal:  # a value saved before Portico checked formats: it must not stop a purchase
            log.warning('Organization %s: Stripe refused its tax ID %r: %s', organization.id, organization.tax_id,
                        refusal)  # fmt: skip
        return account

    async def update(self, organization: Organization) -> None:
        """Keep the Stripe customer's name, email, address and tax ID as the organization's details."""
        account = await BillingAccount.get_or_none(organization_id=organization.id)
        if account and account.stripe_customer_id:
            await self.gateway.call('customers', 'update', account.stripe_customer_id, **customer_fields(organization))
            try:
                await self._replace_tax_ids(account.stripe_customer_id, organization)
            except TaxIdRefused as refusal:
                message = f'Stripe did not accept this VAT/tax ID: {refusal} The other details are saved.'
                raise ValidationFailed({'tax_id': message}) from None

    async def changed(self, customer_id: str) -> None:
        """A webhook about the customer or its cards: open pages of that organization refresh what they show."""
        account = await BillingAccount.get_or_none(stripe_customer_id=customer_id)
        if account is not None:
            self.events.publish(billing_changed(account.organization_id))

    async def _replace_tax_ids(self, customer_id: str, organization: Organization) -> None:
        """The customer's tax IDs become the organization's one, or none: a new one is created before the old ones
        are deleted, and one that is already there stays. Its idempotency key names the value and the organization's
        last save, so a retry creates it once, and entering it again after a removal creates it again."""
        wanted = stripe_tax_id(country=organization.country, value=organization.tax_id)
        async with one_at_a_time('billing', organization.id):
            existing = await self.gateway.list_all('customers.tax_ids', customer_id)
            kept = next((tax_id for tax_id in existing if wanted == TaxId(tax_id['type'], tax_id['value'])), None)
            if wanted and kept is None:
                saved = int(organization.updated_at.timestamp() * 1_000_000)
                kept = await self.gateway.call(
                    'customers.tax_ids', 'create', customer_id, type=wanted.type, value=wanted.value,
                    key=f'portico-org{organization.id}-tax-id-{wanted.type}-{wanted.value}-{saved}',
                )  # fmt: skip
            for tax_id in existing:
                if kept is None or tax_id['id'] != kept['id']:
                    await self.gateway.call('customers.tax_ids', 'delete', customer_id, tax_id['id'])


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

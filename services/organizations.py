"""Organizations: first-run creation and the admin's edits of the organization's details."""

from dataclasses import dataclass
from functools import cache

import pycountry
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db.models import AuditEvent, Organization, Role, User
from services import audit
from services.auth import Session, require_admin
from services.billing.customers import Customers
from services.errors import PermissionDenied, ValidationFailed
from services.events import Events, organization_changed
from services.locks import one_at_a_time
from services.passwords import hash_password
from services.product_webhooks import ProductWebhooks
from services.tax_ids import clean_tax_id
from services.validation import check_password, clean_email, clean_email_list, clean_name

EDITABLE_FIELDS = (
    'name', 'billing_email', 'receipt_emails', 'address_line1', 'address_line2', 'postal_code', 'city', 'country',
    'tax_id',
)  # fmt: skip
MAX_RECEIPT_EMAILS = 3
_LIMITS = {'address_line1': 200, 'address_line2': 200, 'postal_code': 20, 'city': 100}


@cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code → common English name, sorted by name."""
    names = {country.alpha_2: getattr(country, 'common_name', country.name) for country in pycountry.countries}
    return dict(sorted(names.items(), key=lambda item: item[1]))


@dataclass(frozen=True)
class NewAdmin:
    organization_name: str
    name: str
    email: str
    password: str


async def organization_exists() -> bool:
    return await Organization.exists()


async def create_organization_with_admin(new: NewAdmin) -> tuple[User, bool]:
    """Create an organization and its first admin; returns (admin, created). Idempotent on the email."""
    errors: dict[str, str] = {}
    organization_name = clean_name(new.organization_name, errors, 'organization_name', label='Organization name')
    name = clean_name(new.name, errors, 'name')
    email = clean_email(new.email, errors, 'email')
    check_password(new.password, errors, 'password')
    if errors:
        raise ValidationFailed(errors)
    existing = await User.get_or_none(email=email)
    if existing:
        return existing, False
    password_hash = await hash_password(new.password)
    try:
        async with in_transaction():
            organization = await Organization.create(name=organization_name, billing_email=email)
            user = await User.create(
                organization=organization, name=name, email=email, role=Role.ADMIN, password_hash=password_hash
            )
    except IntegrityError:
        # Another request created the same email between the check and the insert.
        return await User.get(email=email), False
    return user, True


async def create_first_organization(new: NewAdmin) -> User:
    """The /setup form: allowed only while no organization exists, and only one of two forms sent at once wins."""
    async with one_at_a_time('setup'):
        if await organization_exists():
            raise PermissionDenied('Portico is already set up. Log in instead.')
        admin, _ = await create_organization_with_admin(new)
    return admin


@dataclass(frozen=True, kw_only=True)
class Organizations:
    """The admin's view and edits of their own organization; saving also updates the Stripe customer."""

    events: Events
    customers: Customers
    product: ProductWebhooks

    async def get(self, *, session: Session | None) -> Organization:
        """The caller's own organization; only ever scoped by the caller, never by an id from the client."""
        admin = await require_admin(session)
        return await Organization.get(id=admin.organization_id)

    async def activity(self, *, session: Session | None) -> list[AuditEvent]:
        """The latest events of the caller's organization's audit log (the portal's "Activity")."""
        admin = await require_admin(session)
        return await audit.latest(organization_id=admin.organization_id)

    async def update(self, *, session: Session | None, organization_id: int, values: dict[str, str]) -> Organization:
        """Validate every field, then save all of them or none, with its audit event; then tell Stripe."""
        await require_admin(session, organization_id=organization_id)
        cleaned = validate_organization(values)
        async with in_transaction():
            organization = await Organization.select_for_update().get(id=organization_id)
            admin = await require_admin(session, organization_id=organization_id)
            before = {field: getattr(organization, field) for field in EDITABLE_FIELDS}
            for field, value in cleaned.items():
                setattr(organization, field, value)
            await organization.save()
            after = {field: getattr(organization, field) for field in EDITABLE_FIELDS}
            if after != before:
                await audit.record(
                    actor=admin, action='organization.edited', target_type='organization', target_id=organization.id,
                    target_label=organization.name, before=before, after=after,
                )  # fmt: skip
                await self.product.enqueue(organization.id, 'organization.updated',
                                           {'object': 'organization', 'id': organization.id, **after})  # fmt: skip
        self.events.publish(organization_changed(organization_id), organization)
        await self.customers.update(organization)  # the next invoice carries the new name, address and tax ID
        return organization


def validate_organization(values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    cleaned = {
        'name': clean_name(values.get('name', ''), errors, 'name', label='Organization name'),
        'billing_email': clean_email(values.get('billing_email', ''), errors, 'billing_email', required=False),
        'receipt_emails': clean_email_list(
            values.get('receipt_emails', ''),
            errors,
            'receipt_emails',
            at_most=MAX_RECEIPT_EMAILS,
            label='receipt emails',
        ),
        'country': (values.get('country') or '').strip().upper(),
    }
    for field, limit in _LIMITS.items():
        value = (values.get(field) or '').strip()
        if len(value) > limit:
            errors[field] = f'At most {limit:,} characters.'
        cleaned[field] = value
    if cleaned['country'] and cleaned['country'] not in countries():
        errors['country'] = 'Choose a country from the list.'
    cleaned['tax_id'] = clean_tax_id(values.get('tax_id', ''), country=cleaned['country'], errors=errors)
    if errors:
        raise ValidationFailed(errors)
    return cleaned

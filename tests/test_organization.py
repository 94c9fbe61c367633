"""The "Organization" section: showing and editing, every invalid input, and isolation between organizations."""

import pytest
from nicegui import ui
from nicegui.testing import User as UserSim

from db.models import AuditEvent, Organization
from services.container import Services
from services.errors import PermissionDenied, ValidationFailed
from tests.helpers import click, create_admin, log_in, session_of

VALID = {
    'name': 'Acme Europe',
    'billing_email': 'Billing@Acme.example',
    'address_line1': 'Main Street 1',
    'address_line2': 'Floor 3',
    'postal_code': '1011 AB',
    'city': 'Amsterdam',
    'country': 'NL',
    'tax_id': 'nl123456789b01',
}


async def open_editor(user: UserSim) -> None:
    user.find(kind=ui.button, marker='edit-organization').click()
    await user.should_see('Save')


async def test_admin_edits_the_organization(user: UserSim) -> None:
    admin = await create_admin('Acme Corp')
    await log_in(user, admin.email)
    await open_editor(user)
    for field, value in VALID.items():
        user.find(marker=f'organization-{field}').elements.pop().value = value
    click(user, 'Save')
    await user.should_see('Organization saved.', retries=20)
    await user.should_see('Main Street 1, Floor 3, 1011 AB Amsterdam')
    await user.should_see('Netherlands')
    saved = await Organization.get(id=admin.organization_id)
    assert (saved.name, saved.billing_email, saved.country, saved.tax_id) == (
        'Acme Europe',
        'billing@acme.example',
        'NL',
        'NL123456789B01',
    )
    event = await AuditEvent.get(organization_id=admin.organization_id, action='organization.edited')
    assert (event.before['name'], event.after['name'], event.actor_name) == ('Acme Corp', 'Acme Europe', admin.name)
    user.find(kind=ui.expansion, content='Activity').elements.pop().value = True
    await user.should_see(f"{admin.name} changed the organization's name to Acme Europe", retries=20)


@pytest.mark.parametrize(
    ('field', 'value', 'message'),
    [
        ('name', '', 'Organization name is required.'),
        ('name', 'x' * 201, 'Organization name can be at most 200 characters.'),
        ('billing_email', 'not-an-email', 'Enter a valid email address'),
        ('billing_email', 'a@b', 'Enter a valid email address'),
        ('tax_id', 'NL_123', 'VAT/tax ID: at most 32 letters, digits, spaces, dots and dashes.'),
        ('tax_id', 'A' * 33, 'VAT/tax ID: at most 32 letters, digits, spaces, dots and dashes.'),
        ('tax_id', '<script>', 'VAT/tax ID: at most 32 letters, digits, spaces, dots and dashes.'),
        ('city', 'c' * 101, 'At most 100 characters.'),
        ('postal_code', '9' * 21, 'At most 20 characters.'),
        ('address_line1', 'a' * 201, 'At most 200 characters.'),
    ],
)
async def test_invalid_input_is_shown_at_its_field_and_nothing_is_saved(
    user: UserSim, field: str, value: str, message: str
) -> None:
    admin = await create_admin('Acme Corp')
    await log_in(user, admin.email)
    await open_editor(user)
    user.find('City').type('Utrecht')  # a valid change in the same form must not be saved either
    editor = user.find(marker=f'organization-{field}').elements.pop()
    editor.value = value
    click(user, 'Save')
    await user.should_see(message, retries=20)
    assert editor.error is not None and message in editor.error
    unchanged = await Organization.get(id=admin.organization_id)
    assert (unchanged.name, unchanged.city, unchanged.billing_email) == ('Acme Corp', '', admin.email)


async def test_admin_of_one_organization_cannot_read_or_change_another(services: Services) -> None:
    admin_a = await create_admin('Org A')
    admin_b = await create_admin('Org B')
    assert (await services.organizations.get(session=await session_of(admin_a))).name == 'Org A'
    with pytest.raises(PermissionDenied):
        await services.organizations.update(
            session=await session_of(admin_a), organization_id=admin_b.organization_id, values=VALID
        )
    assert (await Organization.get(id=admin_b.organization_id)).name == 'Org B'


async def test_a_page_of_organization_a_shows_nothing_of_b(user: UserSim) -> None:
    admin_a = await create_admin('Org Alpha')
    await create_admin('Org Beta')
    await log_in(user, admin_a.email)
    await user.should_see('Org Alpha')
    await user.should_not_see('Org Beta')


async def test_valid_values_are_cleaned_and_saved(services: Services) -> None:
    admin = await create_admin()
    saved = await services.organizations.update(
        session=await session_of(admin), organization_id=admin.organization_id, values=VALID
    )
    assert saved.tax_id == 'NL123456789B01' and saved.billing_email == 'billing@acme.example'


async def test_all_errors_are_reported_together(services: Services) -> None:
    admin = await create_admin()
    with pytest.raises(ValidationFailed) as failure:
        await services.organizations.update(
            session=await session_of(admin),
            organization_id=admin.organization_id,
            values={**VALID, 'name': '', 'billing_email': 'x', 'tax_id': '!'},
        )
    assert set(failure.value.errors) == {'name', 'billing_email', 'tax_id'}


async def test_a_country_outside_iso_3166_is_refused(services: Services) -> None:
    # The form's select only offers ISO 3166 countries; a crafted websocket message reaches the service directly.
    admin = await create_admin()
    with pytest.raises(ValidationFailed) as failure:
        await services.organizations.update(
            session=await session_of(admin), organization_id=admin.organization_id, values={**VALID, 'country': 'XX'}
        )
    assert failure.value.errors == {'country': 'Choose a country from the list.'}

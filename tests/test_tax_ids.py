"""The VAT/tax ID reaches the invoice: its type follows the country, a value that does not fit is refused at its
field, and saving replaces the Stripe customer's tax IDs, which the finalized invoice, its page and its PDF carry."""

import asyncio
import logging

import httpx
import pytest
from nicegui.testing import User as UserSim

from db.models import BillingAccount, Organization
from services.container import Services
from services.errors import ValidationFailed
from services.organizations import validate_organization
from services.tax_ids import TaxId, stripe_tax_id
from tests.billing_helpers import bought
from tests.emulator.test_tax_ids import pdf_text
from tests.helpers import click, create_admin, log_in, session_of
from tests.test_organization import open_editor

ADDRESS = {'name': 'Acme GmbH', 'address_line1': 'Hauptstraße 1', 'postal_code': '10115', 'city': 'Berlin'}


@pytest.mark.parametrize(
    ('country', 'typed', 'saved', 'stripe_type'),
    [
        ('DE', 'de 123 456 789', 'DE123456789', 'eu_vat'),
        ('DE', '123456789', 'DE123456789', 'eu_vat'),  # the prefix is put back
        ('GR', '123456789', 'EL123456789', 'eu_vat'),  # Greece's prefix is EL
        ('NL', 'nl123456789b01', 'NL123456789B01', 'eu_vat'),
        ('FR', 'FR AB 123456789', 'FRAB123456789', 'eu_vat'),
        ('GB', 'GB 123 4567 89', 'GB123456789', 'gb_vat'),
        ('GB', 'XI 123 4567 89', 'XI123456789', 'eu_vat'),  # Northern Ireland
        ('CH', 'CHE123456789', 'CHE-123.456.789 MWST', 'ch_vat'),
        ('CH', 'che-123.456.789 tva', 'CHE-123.456.789 TVA', 'ch_vat'),
        ('NO', 'NO 123 456 789 MVA', '123456789MVA', 'no_vat'),
        ('AU', '12 345 678 912', '12345678912', 'au_abn'),
        ('US', '123456789', '12-3456789', 'us_ein'),
    ],
)
def test_the_type_follows_the_country_and_the_value_is_spelled_as_stripe_expects(country, typed, saved, stripe_type):
    cleaned = validate_organization({**ADDRESS, 'country': country, 'tax_id': typed})
    assert cleaned['tax_id'] == saved
    assert stripe_tax_id(country=country, value=saved) == TaxId(stripe_type, saved)


@pytest.mark.parametrize(
    ('country', 'typed', 'field', 'message'),
    [
        ('DE', 'DE12345', 'tax_id', 'VAT/tax ID: enter a VAT number for Germany, such as DE123456789.'),
        ('DE', 'ATU12345678', 'tax_id', 'VAT/tax ID: enter a VAT number for Germany, such as DE123456789.'),
        ('NL', 'NL123456789', 'tax_id', 'VAT/tax ID: enter a VAT number for the Netherlands, such as NL123456789B01.'),
        ('GB', '12345', 'tax_id', 'VAT/tax ID: enter a VAT number for the United Kingdom, such as GB123456789.'),
        (
            'CH',
            'CHE-123.456',
            'tax_id',
            'VAT/tax ID: enter a VAT number for Switzerland, such as CHE-123.456.789 MWST.',
        ),
        ('NO', '12345678MVA', 'tax_id', 'VAT/tax ID: enter a VAT number for Norway, such as 123456789MVA.'),
        ('AU', '1234567891', 'tax_id', 'VAT/tax ID: enter an ABN for Australia, such as 12345678912.'),
        ('US', '12-345678', 'tax_id', 'VAT/tax ID: enter an EIN for the United States, such as 12-3456789.'),
        ('DE', 'DE<123>', 'tax_id', 'VAT/tax ID: at most 32 letters, digits, spaces, dots and dashes.'),
        ('', 'DE123456789', 'country', 'Choose the country of the VAT/tax ID.'),
    ],
)
def test_a_value_that_does_not_fit_is_refused_at_its_field(country, typed, field, message):
    with pytest.raises(ValidationFailed) as failure:
        validate_organization({**ADDRESS, 'country': country, 'tax_id': typed})
    assert failure.value.errors == {field: message}


def test_a_country_without_a_known_type_keeps_the_value_as_typed_for_metadata_only():
    cleaned = validate_organization({**ADDRESS, 'country': 'CA', 'tax_id': '123456789 rt0001'})
    assert cleaned['tax_id'] == '123456789 RT0001'
    assert stripe_tax_id(country='CA', value=cleaned['tax_id']) is None


async def test_the_form_shows_the_format_at_the_field_and_saves_the_spelled_value(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email)
    await open_editor(user)
    user.find(marker='organization-country').elements.pop().value = 'CH'
    tax_id = user.find(marker='organization-tax_id').elements.pop()
    tax_id.value = 'CHE-123.456'
    click(user, 'Save')
    message = 'VAT/tax ID: enter a VAT number for Switzerland, such as CHE-123.456.789 MWST.'
    await user.should_see(message, retries=20)
    assert tax_id.error == message
    assert (await Organization.get(id=admin.organization_id)).tax_id == ''
    tax_id.value = 'che 123 456 789'
    click(user, 'Save')
    await user.should_see('Organization saved.', retries=20)
    await user.should_see('CHE-123.456.789 MWST')
    assert (await Organization.get(id=admin.organization_id)).tax_id == 'CHE-123.456.789 MWST'


async def test_saving_replaces_the_customers_tax_ids_and_entering_one_again_creates_it_again(
    services: Services, emulator_app
) -> None:
    admin, _ = await bought(services, emulator_app)
    session = await session_of(admin)

    async def save(country: str, tax_id: str) -> list[tuple[str, str]]:
        await services.organizations.update(session=session, organization_id=admin.organization_id,
                                            values={**ADDRESS, 'country': country, 'tax_id': tax_id})  # fmt: skip
        return await tax_ids_of(services, admin.organization_id)

    assert await save('DE', 'DE123456789') == [('eu_vat', 'DE123456789')]
    assert await save('DE', 'DE 123 456 789') == [('eu_vat', 'DE123456789')]  # the same one stays
    assert await save('CH', 'CHE123456789') == [('ch_vat', 'CHE-123.456.789 MWST')]  # the old one goes
    assert await save('CH', '') == []
    # Within Stripe's 24 hours of idempotency: a key made of the value alone would replay the deleted one.
    assert await save('CH', 'CHE123456789') == [('ch_vat', 'CHE-123.456.789 MWST')]
    assert await save('CA', '123456789RT0001') == []  # no known type: metadata only
    customer = await customer_of(services, admin.organization_id)
    assert customer['metadata']['tax_id'] == '123456789RT0001'


async def test_two_saves_at_once_leave_one_tax_id(services: Services, emulator_app) -> None:
    admin, _ = await bought(services, emulator_app)
    organization = await Organization.get(id=admin.organization_id)
    organization.country, organization.tax_id = 'AU', '12345678912'
    await organization.save()
    await asyncio.gather(*(services.billing.customers.update(organization) for _ in range(3)))
    assert await tax_ids_of(services, admin.organization_id) == [('au_abn', '12345678912')]


async def test_the_new_customer_carries_the_tax_id_and_its_finalized_invoice_prints_it(
    services: Services, emulator_app
) -> None:
    admin = await create_admin()
    await services.organizations.update(session=await session_of(admin), organization_id=admin.organization_id,
                                        values={**ADDRESS, 'country': 'DE', 'tax_id': 'DE123456789'})  # fmt: skip
    await bought(services, emulator_app, admin=admin)  # the Stripe customer is created here
    assert await tax_ids_of(services, admin.organization_id) == [('eu_vat', 'DE123456789')]
    account = await BillingAccount.get(organization_id=admin.organization_id)
    [invoice] = (await services.billing.gateway.call('invoices', 'list', customer=account.stripe_customer_id))['data']
    assert invoice['status'] == 'paid'
    assert invoice['customer_tax_ids'] == [{'type': 'eu_vat', 'value': 'DE123456789'}]
    page, pdf = (
        await fetch(emulator_app, invoice['hosted_invoice_url']),
        await fetch(emulator_app, invoice['invoice_pdf']),
    )
    assert 'VAT: DE123456789' in page.text
    assert 'VAT: DE123456789' in pdf_text(pdf.content)

    # A later change is on the next invoice; the finalized one keeps the tax ID it was issued with.
    await services.organizations.update(session=await session_of(admin), organization_id=admin.organization_id,
                                        values={**ADDRESS, 'country': 'AT', 'tax_id': 'ATU12345678'})  # fmt: skip
    assert await tax_ids_of(services, admin.organization_id) == [('eu_vat', 'ATU12345678')]
    kept = await services.billing.gateway.call('invoices', 'retrieve', invoice['id'])
    assert kept['customer_tax_ids'] == [{'type': 'eu_vat', 'value': 'DE123456789'}]


async def test_a_value_saved_before_the_checks_that_stripe_refuses_does_not_stop_a_purchase(
    services: Services, emulator_app, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await create_admin()
    await Organization.filter(id=admin.organization_id).update(country='DE', tax_id='DE12')  # an old, loose check
    with caplog.at_level(logging.WARNING, logger='portico.billing'):
        await bought(services, emulator_app, admin=admin)
    assert await tax_ids_of(services, admin.organization_id) == []
    assert 'Stripe refused its tax ID' in caplog.text and 'Invalid value for eu_vat.' in caplog.text
    assert (await customer_of(services, admin.organization_id))['metadata']['tax_id'] == 'DE12'


async def customer_of(services: Services, organization_id: int) -> dict:
    account = await BillingAccount.get(organization_id=organization_id)
    return await services.billing.gateway.call('customers', 'retrieve', account.stripe_customer_id)


async def tax_ids_of(services: Services, organization_id: int) -> list[tuple[str, str]]:
    account = await BillingAccount.get(organization_id=organization_id)
    tax_ids = await services.billing.gateway.list_all('customers.tax_ids', account.stripe_customer_id)
    return [(tax_id['type'], tax_id['value']) for tax_id in tax_ids]


async def fetch(emulator_app, url: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=emulator_app)
    async with httpx.AsyncClient(transport=transport, base_url='http://emulator') as client:
        response = await client.get(httpx.URL(url).path.removeprefix('/emulator/stripe'))
    assert response.status_code == 200
    return response

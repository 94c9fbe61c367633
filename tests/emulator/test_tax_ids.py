"""Customer tax IDs: Stripe's format checks per type, the invoice's snapshot at finalization, and the line that the
hosted invoice page and its PDF print."""

import re
import zlib

import httpx
import pytest
import stripe

from .billing_helpers import catalogue, open_invoice, subscribe


@pytest.mark.parametrize(
    ('tax_type', 'value', 'country'),
    [
        ('eu_vat', 'DE123456789', 'DE'),
        ('eu_vat', 'EL123456789', 'GR'),
        ('eu_vat', 'NL123456789B01', 'NL'),
        ('eu_vat', 'XI123456789', 'GB'),
        ('gb_vat', 'GB123456789', 'GB'),
        ('ch_vat', 'CHE-123.456.789 MWST', 'CH'),
        ('no_vat', '123456789MVA', 'NO'),
        ('au_abn', '12345678912', 'AU'),
        ('us_ein', '12-3456789', 'US'),
        ('ca_bn', '123456789', 'CA'),  # a type without a format here: any value
    ],
)
async def test_a_tax_id_that_fits_its_type_is_created_with_its_country(backend, tax_type, value, country):
    customer = await backend.v1.customers.create_async(params={'name': 'Taxed'})
    tax_id = await backend.v1.customers.tax_ids.create_async(customer.id, params={'type': tax_type, 'value': value})
    assert (tax_id.object, tax_id.type, tax_id.value, tax_id.country) == ('tax_id', tax_type, value, country)
    assert tax_id.id.startswith('txi_') and tax_id.customer == customer.id


@pytest.mark.parametrize(
    ('tax_type', 'value'),
    [
        ('eu_vat', 'DE12345'),  # too short
        ('eu_vat', 'GR123456789'),  # Greece's prefix is EL
        ('eu_vat', 'US123456789'),  # not an EU prefix
        ('gb_vat', '123456789'),  # without GB
        ('ch_vat', 'CHE123456789'),  # not spelled as Stripe's CHE-123.456.789 MWST
        ('no_vat', '123456789'),  # without MVA
        ('au_abn', '1234567891'),  # 10 digits
        ('us_ein', '123456789'),  # without the dash
    ],
)
async def test_a_value_that_does_not_fit_its_type_is_stripes_tax_id_invalid(backend, tax_type, value):
    customer = await backend.v1.customers.create_async(params={'name': 'Refused'})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        await backend.v1.customers.tax_ids.create_async(customer.id, params={'type': tax_type, 'value': value})
    assert refused.value.code == 'tax_id_invalid'
    assert refused.value.param == 'value'
    assert (await backend.v1.customers.tax_ids.list_async(customer.id)).data == []


async def test_an_unknown_type_is_refused_and_an_invalid_tax_id_data_creates_no_customer(emulator_client):
    v1 = emulator_client.v1
    customer = await v1.customers.create_async(params={'name': 'Typed'})
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        await v1.customers.tax_ids.create_async(customer.id, params={'type': 'xx_vat', 'value': '1'})
    assert unknown.value.param == 'type' and 'eu_vat' in str(unknown.value)
    name = 'Never created'
    with pytest.raises(stripe.InvalidRequestError) as refused:
        await v1.customers.create_async(params={'name': name, 'tax_id_data': [{'type': 'eu_vat', 'value': 'DE1'}]})
    assert (refused.value.code, refused.value.param) == ('tax_id_invalid', 'tax_id_data[0][value]')
    assert name not in [c.name for c in (await v1.customers.list_async(params={'limit': 100})).data]


async def test_a_finalized_invoice_keeps_its_tax_ids_and_prints_them_on_the_page_and_the_pdf(emulator_client):
    v1 = emulator_client.v1
    prices = await catalogue(emulator_client)
    customer, _, _, invoice = await open_invoice(
        emulator_client, prices.pro_monthly, name='Taxed GmbH', tax_id_data=[{'type': 'eu_vat', 'value': 'DE123456789'}]
    )
    await v1.customers.tax_ids.create_async(customer.id, params={'type': 'us_ein', 'value': '12-3456789'})
    assert invoice.status == 'open'
    assert [(t.type, t.value) for t in invoice.customer_tax_ids] == [('eu_vat', 'DE123456789')]
    async with httpx.AsyncClient() as http:
        page = (await http.get(invoice.hosted_invoice_url)).text
        pdf = (await http.get(invoice.invoice_pdf)).content
    assert 'VAT: DE123456789' in page and 'EIN' not in page
    assert 'VAT: DE123456789' in pdf_text(pdf) and 'EIN' not in pdf_text(pdf)

    # The customer's tax IDs change: the finalized invoice keeps what it had, the next one carries the new ones.
    for tax_id in (await v1.customers.tax_ids.list_async(customer.id)).data:
        await v1.customers.tax_ids.delete_async(customer.id, tax_id.id)
    await v1.customers.tax_ids.create_async(customer.id, params={'type': 'eu_vat', 'value': 'ATU12345678'})
    again = await v1.invoices.retrieve_async(invoice.id)
    assert [(t.type, t.value) for t in again.customer_tax_ids] == [('eu_vat', 'DE123456789')]
    card = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    await v1.payment_methods.attach_async(card.id, params={'customer': customer.id})
    second = await subscribe(emulator_client, customer, prices.basic_monthly, default_payment_method=card.id)
    latest = await v1.invoices.retrieve_async(second.latest_invoice)
    assert [(t.type, t.value) for t in latest.customer_tax_ids] == [('eu_vat', 'ATU12345678')]


def pdf_text(content: bytes) -> str:
    """The text that the PDF's (zlib-compressed) page streams show."""
    shown = []
    for stream in re.findall(rb'stream\r?\n(.*?)\r?\nendstream', content, re.DOTALL):
        try:
            shown += re.findall(rb'\((.*?)\) ?Tj', zlib.decompress(stream))
        except zlib.error:
            continue  # not a compressed content stream
    return '\n'.join(text.decode('latin-1') for text in shown)

"""The paying forms of the hosted pages (emulator-only): a decline, a re-posted form, unknown objects."""

import httpx
import pytest

from .billing_helpers import catalogue, open_invoice

pytestmark = pytest.mark.asyncio

GOOD_CARD = {'card_number': '4242 4242 4242 4242', 'expiry': '12 / 34', 'cvc': '123', 'name': 'Ada Lovelace'}
DECLINED_CARD = {**GOOD_CARD, 'card_number': '4000 0000 0000 0002'}


class _Backend:
    def __init__(self, client):
        self.v1 = client.v1


async def test_the_hosted_invoice_page_shows_a_decline_and_a_reposted_form_pays_once(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    customer, failing, _, invoice = await open_invoice(backend, prices.pro_monthly, name='Declined, then paid')
    async with httpx.AsyncClient() as http:
        declined = await http.post(invoice.hosted_invoice_url, data=DECLINED_CARD)
        assert declined.status_code == 402
        assert 'Your card was declined.' in declined.text and 'Pay this invoice' in declined.text
        assert (await backend.v1.invoices.retrieve_async(invoice.id)).status == 'open'
        assert [pm.id for pm in (await backend.v1.customers.payment_methods.list_async(customer.id)).data] == [
            failing.id
        ]
        paid = await http.post(invoice.hosted_invoice_url, data=GOOD_CARD)
        again = await http.post(invoice.hosted_invoice_url, data=GOOD_CARD)
    assert (paid.status_code, again.status_code) == (200, 200)
    assert 'Pay this invoice' not in again.text
    paid_invoice = await backend.v1.invoices.retrieve_async(invoice.id)
    assert (paid_invoice.status, paid_invoice.amount_paid) == ('paid', 5000)
    assert len((await backend.v1.customers.payment_methods.list_async(customer.id)).data) == 2


async def test_checkout_without_a_success_url_shows_the_finished_page_and_a_repost_charges_nothing(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'No success URL'})
    session = await backend.v1.checkout.sessions.create_async(
        params={'mode': 'subscription', 'customer': customer.id, 'line_items': [{'price': prices.basic_monthly}]}
    )
    async with httpx.AsyncClient() as http:
        declined = await http.post(session.url, data=DECLINED_CARD)
        assert declined.status_code == 402
        assert 'Your card was declined.' in declined.text
        assert (await backend.v1.checkout.sessions.retrieve_async(session.id)).status == 'open'
        paid = await http.post(session.url, data=GOOD_CARD)
        again = await http.post(session.url, data=GOOD_CARD)
    for page in (paid, again):
        assert page.status_code == 200
        assert 'Payment complete' in page.text and 'already complete' in page.text
    assert (await backend.v1.checkout.sessions.retrieve_async(session.id)).status == 'complete'
    assert len((await backend.v1.subscriptions.list_async(params={'customer': customer.id})).data) == 1
    assert len((await backend.v1.payment_intents.list_async(params={'customer': customer.id})).data) == 1


async def test_unknown_objects_are_named_on_the_404_pages(emulator_server):
    async with httpx.AsyncClient(base_url=emulator_server.api_url) as http:
        pages = {
            'Checkout session': [await http.get('/pay/cs_test_nope'), await http.post('/pay/cs_test_nope')],
            'Invoice': [
                await http.get('/invoice/in_nope/token'),
                await http.post('/invoice/in_nope/token', data=GOOD_CARD),
                await http.get('/invoice/in_nope/token/pdf'),
            ],
            'Mandate': [await http.get('/mandate/mandate_nope/token')],
        }
    for name, responses in pages.items():
        for response in responses:
            assert response.status_code == 404
            assert f'<h2>{name} not found</h2>' in response.text

"""Hosted pages over plain HTTP (emulator-only): every Checkout mode, form validation, invoice page and PDF."""

import re

import httpx
import pytest
import stripe

from .billing_helpers import catalogue, open_invoice
from .serving import EmulatorServer

pytestmark = pytest.mark.asyncio

GOOD_CARD = {'card_number': '4242 4242 4242 4242', 'expiry': '12 / 34', 'cvc': '123', 'name': 'Ada Lovelace'}


class _Backend:
    def __init__(self, client):
        self.v1 = client.v1


async def _pay(session, **fields) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(session.url, data={**GOOD_CARD, **fields})


async def test_payment_mode_with_invoice_and_adjustable_quantity(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'Tokens Ltd', 'email': 't@example.com'})
    session = await backend.v1.checkout.sessions.create_async(
        params={
            'mode': 'payment',
            'customer': customer.id,
            'line_items': [{'price': prices.token_pack, 'quantity': 1, 'adjustable_quantity': {'enabled': True}}],
            'invoice_creation': {'enabled': True},
            'success_url': 'https://portico.example/admin?checkout={CHECKOUT_SESSION_ID}',
            'metadata': {'kind': 'tokens'},
        }
    )
    line_item = (await backend.v1.checkout.sessions.line_items.list_async(session.id)).data[0]
    page = await _pay(session, **{f'quantity_{line_item.id}': '4'})
    assert page.status_code == 303
    assert page.headers['location'] == f'https://portico.example/admin?checkout={session.id}'

    done = await backend.v1.checkout.sessions.retrieve_async(
        session.id, params={'expand': ['payment_intent', 'invoice', 'line_items']}
    )
    assert (done.status, done.payment_status, done.amount_total) == ('complete', 'paid', 4000)
    assert done.line_items.data[0].quantity == 4
    assert (done.payment_intent.status, done.payment_intent.amount) == ('succeeded', 4000)
    assert (done.invoice.status, done.invoice.amount_paid, done.invoice.billing_reason) == ('paid', 4000, 'manual')
    assert done.invoice.lines.data[0].quantity == 4
    events = await backend.v1.events.list_async(params={'type': 'checkout.session.completed'})
    assert events.data[0].data.object.id == session.id
    assert events.data[0].data.object.metadata['kind'] == 'tokens'


async def test_setup_mode_saves_the_card(emulator_client):
    backend = _Backend(emulator_client)
    customer = await backend.v1.customers.create_async(params={'name': 'Saver'})
    session = await backend.v1.checkout.sessions.create_async(
        params={'mode': 'setup', 'customer': customer.id, 'currency': 'usd', 'success_url': 'https://x.example/ok'}
    )
    page = await _pay(session, card_number='5555555555554444')
    assert page.status_code == 303
    done = await backend.v1.checkout.sessions.retrieve_async(session.id, params={'expand': ['setup_intent']})
    assert done.setup_intent.status == 'succeeded'
    intent = await backend.v1.setup_intents.retrieve_async(done.setup_intent.id)  # as Portico asks for it
    assert (intent.id, intent.customer, intent.payment_method) == (done.setup_intent.id, customer.id,
                                                                    done.setup_intent.payment_method)  # fmt: skip
    pm = await backend.v1.payment_methods.retrieve_async(done.setup_intent.payment_method)
    assert (pm.customer, pm.card.brand, pm.card.last4) == (customer.id, 'mastercard', '4444')
    customer = await backend.v1.customers.retrieve_async(customer.id)
    assert customer.invoice_settings.default_payment_method is None  # as on Stripe: saved, nobody's default


async def test_reposting_a_completed_checkout_charges_nothing_twice(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'Double Click'})
    session = await backend.v1.checkout.sessions.create_async(
        params={
            'mode': 'subscription',
            'customer': customer.id,
            'line_items': [{'price': prices.basic_monthly, 'quantity': 1}],
            'success_url': 'https://x.example/ok',
        }
    )
    assert (await _pay(session)).status_code == 303
    again = await _pay(session)
    assert again.status_code == 200
    assert 'already complete' in again.text
    subscriptions = await backend.v1.subscriptions.list_async(params={'customer': customer.id})
    assert len(subscriptions.data) == 1
    assert len((await backend.v1.invoices.list_async(params={'customer': customer.id})).data) == 1


@pytest.mark.parametrize(
    ('fields', 'message'),
    [
        ({'card_number': '4242 4242 4242 4241'}, 'Your card number is invalid.'),
        ({'card_number': '4242 4242'}, 'Your card number is incomplete.'),
        ({'expiry': '13 / 30'}, "Your card's expiration date is invalid."),
        ({'expiry': '01 / 20'}, "Your card's expiration date is in the past."),
        ({'cvc': '1'}, "Your card's security code is incomplete."),
        ({'card_number': '4000 0000 0000 9995'}, 'Your card has insufficient funds.'),
    ],
)
async def test_checkout_form_errors(emulator_client, fields, message):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'Typo'})
    session = await backend.v1.checkout.sessions.create_async(
        params={
            'mode': 'subscription',
            'customer': customer.id,
            'line_items': [{'price': prices.basic_monthly}],
            'success_url': 'https://x.example/ok',
        }
    )
    page = await _pay(session, **fields)
    assert page.status_code in (400, 402)
    assert message.replace("'", '&#x27;') in page.text
    assert (await backend.v1.checkout.sessions.retrieve_async(session.id)).status == 'open'
    assert (await backend.v1.customers.payment_methods.list_async(customer.id)).data == []


async def test_hosted_invoice_page_pdf_and_paying_an_open_invoice(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    _, _, subscription, invoice = await open_invoice(
        backend, prices.pro_monthly, name='Invoiced', email='billing@example.com'
    )
    assert subscription.status == 'incomplete'
    assert invoice.status == 'open'

    async with httpx.AsyncClient() as http:
        page = await http.get(invoice.hosted_invoice_url)
        pdf = await http.get(invoice.invoice_pdf)
        forged = await http.get(invoice.hosted_invoice_url[:-4] + 'abcd')
        paid = await http.post(invoice.hosted_invoice_url, data=GOOD_CARD)
    assert page.status_code == 200
    assert invoice.number in page.text and '$50.00' in page.text
    assert pdf.headers['content-type'] == 'application/pdf'
    assert pdf.content.startswith(b'%PDF')
    assert forged.status_code == 404
    assert paid.status_code == 200 and 'paid' in paid.text
    assert (await backend.v1.invoices.retrieve_async(invoice.id)).status == 'paid'
    assert (await backend.v1.subscriptions.retrieve_async(subscription.id)).status == 'active'


async def test_subscription_checkout_emits_the_events_stripe_sends(tmp_path):
    server = EmulatorServer(tmp_path).start()  # a fresh event log
    try:
        client = stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url})
        backend = _Backend(client)
        prices = await catalogue(backend)
        customer = await backend.v1.customers.create_async(params={'name': 'Evented'})
        session = await backend.v1.checkout.sessions.create_async(
            params={
                'mode': 'subscription',
                'customer': customer.id,
                'line_items': [{'price': prices.pro_monthly}],
                'success_url': 'https://x.example/ok',
            }
        )
        assert (await _pay(session)).status_code == 303
        events = await backend.v1.events.list_async(params={'limit': 100})
    finally:
        server.stop()
    types = [event.type for event in reversed(events.data)]
    flow = types[types.index('customer.created') + 1 :]
    assert flow == [
        'payment_method.attached',
        'customer.subscription.created',
        'invoice.created',
        'invoice.finalized',
        'payment_intent.created',
        'charge.succeeded',
        'payment_intent.succeeded',
        'invoice.paid',
        'invoice.payment_succeeded',
        'customer.subscription.updated',
        'checkout.session.completed',
    ]
    completed = events.data[0]
    assert completed.data.object.subscription
    assert completed.request.id.startswith('req_')


NON_TEST_CARD = 'Your card was declined. Your request was in test mode, but used a non test card.'


@pytest.mark.parametrize('number', ['4111 1111 1111 1111', '5500 0000 0000 0004', '3400 0000 0000 009'])
async def test_test_mode_refuses_real_cards_next_to_the_card_number(emulator_client, number):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'Real card'})
    session = await backend.v1.checkout.sessions.create_async(
        params={'mode': 'payment', 'customer': customer.id, 'line_items': [{'price': prices.token_pack}],
                'success_url': 'https://x.example/ok'}
    )  # fmt: skip
    cvc = '1234' if number.startswith('34') else '123'
    page = await _pay(session, card_number=number, cvc=cvc)
    assert page.status_code == 400
    error = re.search(r'<p class="field-error" id="card-number-error" role="alert">([^<]*)</p>', page.text)
    assert error and error.group(1).startswith(NON_TEST_CARD)
    assert 'aria-describedby="card-number-error"' in page.text
    assert (await backend.v1.checkout.sessions.retrieve_async(session.id)).status == 'open'
    assert (await backend.v1.payment_intents.list_async(params={'customer': customer.id})).data == []


@pytest.mark.parametrize(
    ('number', 'cvc', 'brand', 'funding'),
    [
        ('4000 0566 5566 5556', '123', 'visa', 'debit'),
        ('2223 0031 2200 3222', '123', 'mastercard', 'credit'),
        ('5105 1051 0510 5100', '123', 'mastercard', 'prepaid'),
        ('3714 496353 98431', '1234', 'amex', 'credit'),
        ('6011 9811 1111 1113', '123', 'discover', 'debit'),
        ('6555 9000 0060 4105', '123', 'discover', 'credit'),
        ('3622 720627 1667', '123', 'diners', 'credit'),  # 14 digits
        ('3566 0020 2036 0505', '123', 'jcb', 'credit'),
        ('6205 5000 0000 0000 004', '123', 'unionpay', 'credit'),  # 19 digits
    ],
)
async def test_stripes_brand_test_cards_are_accepted(emulator_client, number, cvc, brand, funding):
    backend = _Backend(emulator_client)
    customer = await backend.v1.customers.create_async(params={'name': 'Brands'})
    session = await backend.v1.checkout.sessions.create_async(
        params={'mode': 'setup', 'customer': customer.id, 'currency': 'usd', 'success_url': 'https://x.example/ok'}
    )
    page = await _pay(session, card_number=number, cvc=cvc)
    assert page.status_code == 303, page.text
    [card] = (await backend.v1.customers.payment_methods.list_async(customer.id)).data
    assert (card.card.brand, card.card.funding, card.card.last4) == (brand, funding, number.replace(' ', '')[-4:])


async def test_the_hosted_invoice_page_refuses_real_cards_too(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    _, _, _, invoice = await open_invoice(backend, prices.pro_monthly, name='Invoice, real card')
    async with httpx.AsyncClient() as http:
        page = await http.post(invoice.hosted_invoice_url, data={**GOOD_CARD, 'card_number': '4111111111111111'})
    assert page.status_code == 400
    assert NON_TEST_CARD in page.text
    assert (await backend.v1.invoices.retrieve_async(invoice.id)).status == 'open'

"""The hosted Checkout page in a real browser (Debian's Chromium through Playwright), emulator-only."""

import re
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import async_playwright, expect

from .billing_helpers import catalogue

pytestmark = pytest.mark.asyncio

ARTIFACTS = Path(__file__).resolve().parents[1] / 'artifacts'
CHROMIUM = '/usr/bin/chromium'
HAS_CHROMIUM = Path(CHROMIUM).exists()


@pytest_asyncio.fixture
async def page():
    if not HAS_CHROMIUM:
        pytest.skip(f'{CHROMIUM} is not installed (apt-get install chromium)')
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']
        )
        page = await browser.new_page(viewport={'width': 1100, 'height': 800})
        yield page
        await browser.close()


async def _session(backend_client, server, prices, customer):
    return await backend_client.v1.checkout.sessions.create_async(
        params={
            'mode': 'subscription',
            'customer': customer.id,
            'line_items': [{'price': prices.pro_monthly, 'quantity': 3}],
            'success_url': f'{server.thread.url}/done?session_id={{CHECKOUT_SESSION_ID}}',
            'cancel_url': f'{server.thread.url}/admin/subscriptions',
        }
    )


class _Client:
    def __init__(self, client):
        self.v1 = client.v1


async def _fill_card(page, number: str) -> None:
    await page.get_by_label('Card number').fill(number)
    await page.get_by_label('Expiration').fill('12 / 34')
    await page.get_by_label('CVC').fill('123')
    await page.get_by_label('Cardholder name').fill('Ada Lovelace')


async def test_subscribe_with_a_test_card(page, emulator_server, emulator_client):
    backend = _Client(emulator_client)
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'Browser Co', 'email': 'ada@example.com'})
    session = await _session(backend, emulator_server, prices, customer)

    await page.goto(session.url)
    await expect(page.get_by_role('heading', name='Subscribe to Pro')).to_be_visible()
    await expect(page.get_by_text('$150.00').first).to_be_visible()
    await expect(page.get_by_label('Expiration')).to_have_attribute('placeholder', 'MM / YY')
    await expect(page.get_by_role('link', name='Cancel')).to_have_attribute('href', session.cancel_url)
    await _fill_card(page, '4242 4242 4242 4242')
    await page.screenshot(path=ARTIFACTS / 'emulator-checkout-subscription.png', full_page=True)
    await page.get_by_role('button', name='Subscribe').click()
    await page.wait_for_url(re.compile(r'/done\?session_id=cs_test_'))
    assert page.url.endswith(f'/done?session_id={session.id}')

    completed = await backend.v1.checkout.sessions.retrieve_async(session.id, params={'expand': ['subscription']})
    assert (completed.status, completed.payment_status) == ('complete', 'paid')
    assert completed.subscription.status == 'active'
    assert completed.subscription['items'].data[0].quantity == 3
    invoice = await backend.v1.invoices.retrieve_async(completed.invoice)
    assert (invoice.status, invoice.amount_paid) == ('paid', 15000)
    # As on Stripe, the card becomes the subscription's default, not the customer's.
    assert completed.subscription.default_payment_method
    card = await backend.v1.payment_methods.retrieve_async(completed.subscription.default_payment_method)
    assert (card.customer, card.card.last4) == (customer.id, '4242')
    customer = await backend.v1.customers.retrieve_async(customer.id)
    assert customer.invoice_settings.default_payment_method is None

    # Back on the page after paying: it says so, and nothing can be paid twice.
    await page.goto(session.url)
    await expect(page.get_by_text('This checkout session is already complete')).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'emulator-checkout-complete.png', full_page=True)


async def test_declined_card_shows_the_error_and_creates_nothing(page, emulator_server, emulator_client):
    backend = _Client(emulator_client)
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'Declined Co'})
    session = await _session(backend, emulator_server, prices, customer)

    await page.goto(session.url)
    await _fill_card(page, '4000 0000 0000 0002')
    await page.get_by_role('button', name='Subscribe').click()
    await expect(page.get_by_role('alert')).to_have_text('Your card was declined.')
    await page.screenshot(path=ARTIFACTS / 'emulator-checkout-declined.png', full_page=True)

    assert (await backend.v1.checkout.sessions.retrieve_async(session.id)).status == 'open'
    assert (await backend.v1.subscriptions.list_async(params={'customer': customer.id, 'status': 'all'})).data == []
    assert (await backend.v1.customers.payment_methods.list_async(customer.id)).data == []
    assert (await backend.v1.invoices.list_async(params={'customer': customer.id})).data == []


async def test_pay_by_sepa_direct_debit(page, emulator_server, emulator_client):
    backend = _Client(emulator_client)
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'Bank Co', 'email': 'bank@example.com'})
    session = await backend.v1.checkout.sessions.create_async(
        params={
            'mode': 'payment',
            'customer': customer.id,
            'line_items': [{'price': prices.token_pack, 'quantity': 2}],
            'success_url': f'{emulator_server.thread.url}/done?session_id={{CHECKOUT_SESSION_ID}}',
        }
    )
    await page.goto(session.url)
    methods = page.get_by_role('group', name='Payment method')
    card, sepa = methods.get_by_role('radio', name='Card'), methods.get_by_role('radio', name='SEPA Direct Debit')
    await expect(card).to_be_checked()
    await expect(page.get_by_label('Card number')).to_be_visible()
    await expect(page.get_by_label('IBAN')).to_be_hidden()

    # The keyboard moves through the radio group, and only the chosen method's fields show (CSS only, no script).
    await card.focus()
    await page.keyboard.press('ArrowRight')
    await expect(sepa).to_be_checked()
    await expect(page.get_by_label('Card number')).to_be_hidden()
    await expect(page.get_by_label('IBAN')).to_be_visible()
    await page.get_by_label('IBAN').fill('AT61 1904 3002 3457 3202')  # one digit off: the checksum fails
    await page.get_by_label('Account holder name').fill('Ada Lovelace')
    await page.get_by_role('button', name='Pay').click()
    await expect(page.get_by_text('Your IBAN is invalid.')).to_be_visible()
    await expect(page.get_by_label('IBAN')).to_have_attribute('aria-invalid', 'true')
    await expect(sepa).to_be_checked()

    await page.get_by_label('IBAN').fill('AT61 1904 3002 3457 3201')
    await page.screenshot(path=ARTIFACTS / 'emulator-checkout-sepa.png', full_page=True)
    await page.get_by_role('button', name='Pay').click()
    await page.wait_for_url(re.compile(r'/done\?session_id=cs_test_'))
    done = await backend.v1.checkout.sessions.retrieve_async(session.id, params={'expand': ['payment_intent']})
    assert (done.status, done.payment_status, done.payment_intent.status) == ('complete', 'unpaid', 'processing')

    await page.goto(session.url)
    await expect(page.get_by_role('heading', name='Payment processing')).to_be_visible()

"""3-D Secure in the emulator (emulator-only: Stripe's test page cannot be driven without a browser).

4000 0027 6000 3184 asks on every payment and setup; 4000 0025 0000 3155 asks on setup and on-session payments, and
off session only when the card was not set up. Checkout and the hosted invoice page show the challenge step; an
off-session payment waits in `requires_action` for the hosted authentication page.
"""

import httpx
import pytest
import stripe

from .billing_helpers import DAY, JAN_1_2027, catalogue, customer_on_clock, subscribe
from .test_emulator_billing import _Backend

pytestmark = pytest.mark.asyncio

FEB_1 = JAN_1_2027 + 31 * DAY
CARD = {'expiry': '12 / 34', 'cvc': '123', 'name': 'Ada Lovelace'}
ALWAYS, ON_SETUP = '4000 0027 6000 3184', '4000 0025 0000 3155'


async def _renewal_waiting(backend, card='tok_authenticationRequired'):
    """A monthly subscription paid with 4242 whose default card becomes one that asks for 3-D Secure; Feb 1 renews."""
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.basic_monthly)
    card = await backend.v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': card}})
    await backend.v1.payment_methods.attach_async(card.id, params={'customer': customer.id})
    await backend.v1.customers.update_async(customer.id, params={'invoice_settings': {'default_payment_method':
                                                                                      card.id}})  # fmt: skip
    await backend.advance_clock(clock.id, FEB_1 + 60)
    renewed = await backend.v1.subscriptions.retrieve_async(subscription.id, params={'expand': ['latest_invoice']})
    [intent] = [payment.payment.payment_intent for payment in (await backend.v1.invoices.retrieve_async(
        renewed.latest_invoice.id, params={'expand': ['payments']})).payments.data]  # fmt: skip
    return prices, clock, customer, renewed, await backend.v1.payment_intents.retrieve_async(intent)


async def test_a_renewal_that_asks_for_authentication_waits_then_completes_on_the_hosted_page(emulator_client):
    backend = _Backend(emulator_client)
    _, _, _, subscription, intent = await _renewal_waiting(backend)
    assert subscription.status == 'past_due' and subscription.latest_invoice.status == 'open'
    assert (intent.status, intent.latest_charge, intent.next_action.type) == ('requires_action', None,
                                                                              'redirect_to_url')  # fmt: skip
    events = await emulator_client.v1.events.list_async(params={'type': 'invoice.payment_action_required'})
    assert [event.data.object.id for event in events.data][:1] == [subscription.latest_invoice.id]
    url = intent.next_action.redirect_to_url.url
    async with httpx.AsyncClient() as http:
        shown = await http.get(url)
        assert shown.status_code == 200 and 'Complete authentication' in shown.text and '$30.00' in shown.text
        assert (await http.get(url.replace('token=', 'token=x'))).status_code == 404
        done = await http.post(url, data={'authentication': 'complete'})
        assert 'Payment confirmed' in done.text
        again = await http.post(url, data={'authentication': 'fail'})  # too late: nothing changes
    assert 'Payment confirmed' in again.text
    intent = await backend.v1.payment_intents.retrieve_async(intent.id)
    assert (intent.status, intent.amount_received, intent.next_action) == ('succeeded', 3000, None)
    invoice = await backend.v1.invoices.retrieve_async(subscription.latest_invoice.id)
    assert (invoice.status, invoice.next_payment_attempt) == ('paid', None)
    assert (await backend.v1.subscriptions.retrieve_async(subscription.id)).status == 'active'


async def test_failing_the_authentication_fails_the_payment_and_leaves_the_invoice_open(emulator_client):
    backend = _Backend(emulator_client)
    _, _, _, subscription, intent = await _renewal_waiting(backend)
    async with httpx.AsyncClient() as http:
        failed = await http.post(intent.next_action.redirect_to_url.url, data={'authentication': 'fail'})
    assert 'Authentication failed' in failed.text and 'unable to authenticate' in failed.text
    intent = await backend.v1.payment_intents.retrieve_async(intent.id)
    assert intent.status == 'requires_payment_method'
    assert intent.last_payment_error.code == 'payment_intent_authentication_failure'
    invoice = await backend.v1.invoices.retrieve_async(subscription.latest_invoice.id)
    assert invoice.status == 'open' and invoice.next_payment_attempt == FEB_1 + 3 * DAY
    assert (await backend.v1.subscriptions.retrieve_async(subscription.id)).status == 'past_due'


async def test_a_card_set_up_with_3155_renews_off_session_without_asking(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    session = await backend.v1.checkout.sessions.create_async(params={
        'mode': 'subscription', 'customer': customer.id, 'line_items': [{'price': prices.basic_monthly}],
        'success_url': 'https://example.com/ok',
    })  # fmt: skip
    form = {**CARD, 'card_number': ON_SETUP}
    async with httpx.AsyncClient() as http:
        challenge = await http.post(session.url, data=form)
        assert challenge.status_code == 200 and '3D Secure' in challenge.text
        assert 'Fail authentication' in challenge.text and '$30.00' in challenge.text
        failed = await http.post(session.url, data={**form, 'authentication': 'fail'})
        assert failed.status_code == 402 and 'unable to authenticate your payment method' in failed.text
        assert (await backend.v1.checkout.sessions.retrieve_async(session.id)).status == 'open'
        paid = await http.post(session.url, data={**form, 'authentication': 'complete'})
        assert paid.status_code == 303
    [subscription] = (await backend.v1.subscriptions.list_async(params={'customer': customer.id})).data
    assert subscription.status == 'active'
    await backend.advance_clock(clock.id, FEB_1 + 60)
    renewed = await backend.v1.subscriptions.retrieve_async(subscription.id, params={'expand': ['latest_invoice']})
    assert (renewed.status, renewed.latest_invoice.status) == ('active', 'paid')


async def test_3155_attached_over_the_api_was_never_set_up_and_asks_off_session(emulator_client):
    _, _, _, subscription, intent = await _renewal_waiting(
        _Backend(emulator_client), 'tok_authenticationRequiredOnSetup'
    )
    assert (subscription.status, intent.status) == ('past_due', 'requires_action')


async def test_3184_asks_on_every_renewal_even_after_checkout(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    session = await backend.v1.checkout.sessions.create_async(params={
        'mode': 'subscription', 'customer': customer.id, 'line_items': [{'price': prices.basic_monthly}],
        'success_url': 'https://example.com/ok',
    })  # fmt: skip
    async with httpx.AsyncClient() as http:
        paid = await http.post(session.url, data={**CARD, 'card_number': ALWAYS, 'authentication': 'complete'})
    assert paid.status_code == 303
    [subscription] = (await backend.v1.subscriptions.list_async(params={'customer': customer.id})).data
    await backend.advance_clock(clock.id, FEB_1 + 60)
    assert (await backend.v1.subscriptions.retrieve_async(subscription.id)).status == 'past_due'


async def test_pending_if_incomplete_holds_a_change_until_it_is_authenticated(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend, card='tok_authenticationRequired')
    session = await backend.v1.checkout.sessions.create_async(params={
        'mode': 'subscription', 'customer': customer.id, 'line_items': [{'price': prices.basic_monthly}],
        'success_url': 'https://example.com/ok',
    })  # fmt: skip
    async with httpx.AsyncClient() as http:
        await http.post(session.url, data={**CARD, 'card_number': ALWAYS, 'authentication': 'complete'})
    [subscription] = (await backend.v1.subscriptions.list_async(params={'customer': customer.id})).data
    item = subscription['items'].data[0]
    change = {'items': [{'id': item.id, 'quantity': 3}], 'proration_behavior': 'always_invoice'}

    with pytest.raises(stripe.CardError, match='requires authentication'):  # error_if_incomplete: nothing changes
        await backend.v1.subscriptions.update_async(
            subscription.id, params={**change, 'payment_behavior': 'error_if_incomplete'}
        )
    held = await backend.v1.subscriptions.update_async(subscription.id, params={
        **change, 'payment_behavior': 'pending_if_incomplete', 'expand': ['latest_invoice.payments'],
    })  # fmt: skip
    assert (held.status, held['items'].data[0].quantity) == ('active', 1)
    assert held.pending_update.subscription_items[0].quantity == 3
    assert held.pending_update.expires_at == JAN_1_2027 + 23 * 3600
    intent = await backend.v1.payment_intents.retrieve_async(
        held.latest_invoice.payments.data[0].payment.payment_intent
    )
    async with httpx.AsyncClient() as http:
        await http.post(intent.next_action.redirect_to_url.url, data={'authentication': 'complete'})
    applied = await backend.v1.subscriptions.retrieve_async(subscription.id)
    assert (applied['items'].data[0].quantity, applied.pending_update) == (3, None)

    lapsing = await backend.v1.subscriptions.update_async(subscription.id, params={
        'items': [{'id': item.id, 'quantity': 5}], 'proration_behavior': 'always_invoice',
        'payment_behavior': 'pending_if_incomplete',
    })  # fmt: skip
    assert lapsing.pending_update is not None
    await backend.advance_clock(clock.id, JAN_1_2027 + DAY)
    lapsed = await backend.v1.subscriptions.retrieve_async(subscription.id, params={'expand': ['latest_invoice']})
    assert (lapsed['items'].data[0].quantity, lapsed.pending_update, lapsed.latest_invoice.status) == (3, None, 'void')


async def test_paying_an_invoice_over_the_api_with_3184_waits_for_authentication(emulator_client):
    backend = _Backend(emulator_client)
    _, _, _, subscription, _ = await _renewal_waiting(backend)
    with pytest.raises(stripe.CardError, match='requires authentication') as raised:
        await backend.v1.invoices.pay_async(subscription.latest_invoice.id)
    assert raised.value.code == 'authentication_required'


async def test_the_hosted_invoice_page_asks_for_authentication_before_paying(emulator_client):
    backend = _Backend(emulator_client)
    _, _, _, subscription, _ = await _renewal_waiting(backend, 'tok_chargeCustomerFail')
    url = subscription.latest_invoice.hosted_invoice_url
    form = {**CARD, 'card_number': ALWAYS}
    async with httpx.AsyncClient() as http:
        challenge = await http.post(url, data=form)
        assert 'Complete authentication' in challenge.text
        assert (await backend.v1.invoices.retrieve_async(subscription.latest_invoice.id)).status == 'open'
        paid = await http.post(url, data={**form, 'authentication': 'complete'})
    assert paid.status_code == 200
    assert (await backend.v1.invoices.retrieve_async(subscription.latest_invoice.id)).status == 'paid'

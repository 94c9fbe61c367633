"""`POST /v1/payment_intents`: a saved card charged at once (`confirm=true`), off session as an auto top-up does,
through the real SDK. The tests with Stripe's own test tokens also run against real Stripe test mode when
STRIPE_TEST_SECRET_KEY is set (`backend`); 3-D Secure and the event log are checked on the emulator only."""

import httpx
import pytest
import stripe

from .billing_helpers import customer_on_clock
from .conftest import unique
from .test_charges_refunds import _Backend

pytestmark = pytest.mark.asyncio


def _params(customer, pm, **extra) -> dict:
    return {
        'amount': 2000, 'currency': 'usd', 'customer': customer.id, 'payment_method': pm.id, 'off_session': True,
        'confirm': True, 'allowed_payment_method_types': ['card'], 'description': 'Auto top-up: 2 packs',
        'metadata': {'purpose': 'auto_top_up', 'tokens': '2000'}, **extra,
    }  # fmt: skip


async def test_a_saved_card_is_charged_off_session_at_once(backend):
    _, customer, pm = await customer_on_clock(backend)
    key = unique('topup')
    intent = await backend.v1.payment_intents.create_async(params=_params(customer, pm),
                                                           options={'idempotency_key': key})  # fmt: skip
    assert (intent.object, intent.status, intent.amount, intent.amount_received) == ('payment_intent', 'succeeded',
                                                                                      2000, 2000)  # fmt: skip
    assert (intent.customer, intent.payment_method, intent.currency) == (customer.id, pm.id, 'usd')
    assert intent.metadata.to_dict() == {'purpose': 'auto_top_up', 'tokens': '2000'}
    assert intent.description == 'Auto top-up: 2 packs' and intent.allowed_payment_method_types == ['card']
    assert intent.payment_method_types == ['card'] and intent.last_payment_error is None
    charge = await backend.v1.charges.retrieve_async(intent.latest_charge)
    assert (charge.status, charge.amount, charge.payment_intent, charge.customer) == ('succeeded', 2000, intent.id,
                                                                                       customer.id)  # fmt: skip
    again = await backend.v1.payment_intents.create_async(params=_params(customer, pm),
                                                          options={'idempotency_key': key})  # fmt: skip
    assert again.id == intent.id and again.last_response.headers.get('Idempotent-Replayed') == 'true'
    listed = await backend.v1.payment_intents.list_async(params={'customer': customer.id})
    assert [listed_intent.id for listed_intent in listed.data] == [intent.id]


async def test_a_declined_card_answers_402_and_the_failed_intent_stays(backend):
    _, customer, pm = await customer_on_clock(backend, card='tok_chargeCustomerFail')
    key = unique('topup')
    with pytest.raises(stripe.CardError) as declined:
        await backend.v1.payment_intents.create_async(params=_params(customer, pm), options={'idempotency_key': key})
    assert (declined.value.code, declined.value.http_status) == ('card_declined', 402)
    assert declined.value.user_message == 'Your card was declined.'
    failed = declined.value.error.payment_intent
    assert (failed.status, failed.payment_method, failed.amount_received) == ('requires_payment_method', None, 0)
    assert (failed.last_payment_error.code, failed.last_payment_error.decline_code) == ('card_declined',
                                                                                        'generic_decline')  # fmt: skip
    assert declined.value.error.charge == failed.latest_charge
    [stored] = (await backend.v1.payment_intents.list_async(params={'customer': customer.id})).data
    assert (stored.id, stored.status) == (failed.id, 'requires_payment_method')
    charge = await backend.v1.charges.retrieve_async(stored.latest_charge)
    assert (charge.status, charge.failure_code) == ('failed', 'card_declined')
    with pytest.raises(stripe.CardError) as replayed:  # the same key: the same answer, nothing charged again
        await backend.v1.payment_intents.create_async(params=_params(customer, pm), options={'idempotency_key': key})
    assert replayed.value.error.payment_intent.id == failed.id
    assert len((await backend.v1.payment_intents.list_async(params={'customer': customer.id})).data) == 1


async def test_off_session_a_card_that_asks_for_3d_secure_is_declined_with_authentication_required(emulator_client):
    backend = _Backend(emulator_client)
    _, customer, pm = await customer_on_clock(backend, card='tok_authenticationRequired')
    with pytest.raises(stripe.CardError) as declined:
        await backend.v1.payment_intents.create_async(params=_params(customer, pm))
    error = declined.value
    assert (error.code, error.error.decline_code) == ('authentication_required', 'authentication_required')
    assert error.user_message == 'Your card was declined. This transaction requires authentication.'
    intent = await backend.v1.payment_intents.retrieve_async(error.error.payment_intent.id)
    assert (intent.status, intent.next_action) == ('requires_payment_method', None)
    assert intent.last_payment_error.decline_code == 'authentication_required'
    kinds = [event.type for event in (await emulator_client.v1.events.list_async(params={'limit': 5})).data]
    assert kinds[:3] == ['payment_intent.payment_failed', 'charge.failed', 'payment_intent.created']


async def test_on_session_a_card_that_asks_for_3d_secure_waits_for_the_hosted_page(emulator_client):
    backend = _Backend(emulator_client)
    _, customer, pm = await customer_on_clock(backend, card='tok_authenticationRequired')
    intent = await backend.v1.payment_intents.create_async(params=_params(customer, pm, off_session=False))
    assert (intent.status, intent.latest_charge, intent.next_action.type) == ('requires_action', None,
                                                                              'redirect_to_url')  # fmt: skip
    async with httpx.AsyncClient() as http:
        done = await http.post(intent.next_action.redirect_to_url.url, data={'authentication': 'complete'})
    assert 'Payment confirmed' in done.text
    intent = await backend.v1.payment_intents.retrieve_async(intent.id)
    assert (intent.status, intent.amount_received) == ('succeeded', 2000)


async def test_what_stripe_refuses_is_refused(backend):
    _, customer, pm = await customer_on_clock(backend)
    _, other, _ = await customer_on_clock(backend)
    refusals = {
        'payment_method': {key: value for key, value in _params(customer, pm).items() if key != 'payment_method'},
        'payment_method ': _params(other, pm),  # another customer's card
        'return_url': {
            key: value for key, value in _params(customer, pm).items() if key != 'allowed_payment_method_types'
        },  # fmt: skip
        'payment_method_types': {**_params(customer, pm), 'payment_method_types': ['card']},  # gone at endive
        'currency': _params(customer, pm, currency='dollars'),
    }
    for param, params in refusals.items():
        with pytest.raises(stripe.InvalidRequestError) as refused:
            await backend.v1.payment_intents.create_async(params=params)
        assert refused.value.param == param.strip(), (param, refused.value)
    assert (await backend.v1.payment_intents.list_async(params={'customer': customer.id})).data == []
    without_redirects = {key: value for key, value in _params(customer, pm).items()
                         if key != 'allowed_payment_method_types'}  # fmt: skip
    without_redirects['automatic_payment_methods'] = {'enabled': True, 'allow_redirects': 'never'}
    intent = await backend.v1.payment_intents.create_async(params=without_redirects)
    assert intent.status == 'succeeded'
    assert (intent.automatic_payment_methods.enabled, intent.automatic_payment_methods.allow_redirects) == (
        True,
        'never',
    )


async def test_the_emulator_creates_confirmed_intents_only(emulator_client):
    """Stripe would leave one `requires_confirmation`; the emulator has no confirm step, and says so."""
    backend = _Backend(emulator_client)
    _, customer, pm = await customer_on_clock(backend)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        await backend.v1.payment_intents.create_async(params=_params(customer, pm, confirm=False, off_session=False))
    assert refused.value.param == 'confirm' and 'confirm=true' in refused.value.user_message
    assert (await backend.v1.payment_intents.list_async(params={'customer': customer.id})).data == []

"""SEPA Direct Debit on the hosted Checkout page (emulator-only): a delayed payment that settles later, exactly once,
in real time (the background sweep), in test-clock time, and after a restart."""

import asyncio
import re
import time

import httpx
import pytest
import stripe

from stripe_emulator import Emulator, EmulatorConfig
from stripe_emulator.clock import renew_real_time

from .billing_helpers import JAN_1_2027, catalogue
from .serving import EmulatorServer

pytestmark = pytest.mark.asyncio

DELAY = 0.4  # async_payment_delay_seconds for these tests
SUCCEEDS, FAILS = 'AT611904300234573201', 'AT861904300235473202'
# The fields of a SEPA Direct Debit PaymentMethod (stripe-node's types/PaymentMethods.d.ts).
SEPA_FIELDS = {'bank_code', 'branch_code', 'country', 'fingerprint', 'generated_from', 'last4'}


class _Backend:
    def __init__(self, client):
        self.v1 = client.v1


@pytest.fixture(scope='module')
def sepa_server(tmp_path_factory):
    server = EmulatorServer(tmp_path_factory.mktemp('sepa'), async_payment_delay_seconds=DELAY).start()
    yield server
    server.stop()


@pytest.fixture
def backend(sepa_server):
    return _Backend(stripe.StripeClient(sepa_server.emulator.api_key, base_addresses={'api': sepa_server.api_url}))


async def _session(backend, mode: str = 'payment', **params):
    if mode == 'setup':
        params = {'currency': 'eur', **params}
    else:
        prices = await catalogue(backend)
        params = {'line_items': [{'price': prices.token_pack, 'quantity': 2}], **params}
    return await backend.v1.checkout.sessions.create_async(
        params={'mode': mode, 'success_url': 'https://portico.example/done?s={CHECKOUT_SESSION_ID}', **params}
    )


async def _pay_by_iban(session, iban: str = SUCCEEDS, name: str = 'Ada Lovelace', **fields) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        data = {'method': 'sepa_debit', 'iban': iban, 'account_holder': name, **fields}
        return await http.post(session.url, data=data, headers={'User-Agent': 'sepa-test'})


async def _settled(backend, intent_id: str):
    deadline = time.monotonic() + 10
    while True:
        intent = await backend.v1.payment_intents.retrieve_async(intent_id, params={'expand': ['latest_charge']})
        if intent.status != 'processing':
            return intent
        assert time.monotonic() < deadline, 'the payment never settled'
        await asyncio.sleep(0.05)


async def _types_after(backend, first_event_id: str) -> list[str]:
    events = await backend.v1.events.list_async(params={'limit': 100, 'ending_before': first_event_id})
    return [event.type for event in reversed(events.data)]


async def _last_event_id(backend) -> str:
    return (await backend.v1.events.list_async(params={'limit': 1})).data[0].id


async def test_the_page_offers_card_or_sepa_in_payment_and_setup_mode_only(backend):
    payment = await _session(backend)
    prices = await catalogue(backend)
    subscription = await backend.v1.checkout.sessions.create_async(
        params={'mode': 'subscription', 'line_items': [{'price': prices.pro_monthly}], 'success_url': 'https://x.ex'}
    )
    assert payment.payment_method_types == ['card', 'sepa_debit']
    assert subscription.payment_method_types == ['card']
    async with httpx.AsyncClient() as http:
        page = (await http.get(payment.url)).text
        subscription_page = (await http.get(subscription.url)).text
    assert '<fieldset class="methods"><legend>Payment method</legend>' in page
    assert re.search(r'<label class="method" for="method-card"><input type="radio" id="method-card" name="method" '
                     r'value="card" checked> Card</label>', page)  # fmt: skip
    assert re.search(r'<label class="method" for="method-sepa"><input type="radio" id="method-sepa" name="method" '
                     r'value="sepa_debit"> SEPA Direct Debit</label>', page)  # fmt: skip
    assert '<label for="iban">IBAN</label>' in page
    assert '<label for="account-holder">Account holder name</label>' in page
    assert 'to debit your account' in page  # the mandate the customer accepts
    assert 'id="method-sepa"' not in subscription_page and 'for="iban"' not in subscription_page


async def test_iban_payment_completes_unpaid_then_succeeds(backend):
    customer = await backend.v1.customers.create_async(params={'name': 'Ada', 'email': 'ada@example.com'})
    session = await _session(backend, customer=customer.id, invoice_creation={'enabled': True})
    before = await _last_event_id(backend)
    page = await _pay_by_iban(session, iban='AT61 1904 3002 3457 3201')
    assert page.status_code == 303
    assert page.headers['location'] == f'https://portico.example/done?s={session.id}'

    done = await backend.v1.checkout.sessions.retrieve_async(session.id, params={'expand': ['payment_intent']})
    assert (done.status, done.payment_status, done.invoice) == ('complete', 'unpaid', None)
    intent = done.payment_intent
    assert intent.id.startswith('pi_')
    assert (intent.status, intent.amount, intent.amount_received) == ('processing', 2000, 0)
    assert intent.payment_method_types == ['card', 'sepa_debit']
    pm = await backend.v1.payment_methods.retrieve_async(intent.payment_method)
    assert pm.type == 'sepa_debit'
    assert set(pm.sepa_debit.to_dict()) == SEPA_FIELDS
    assert (pm.sepa_debit.last4, pm.sepa_debit.bank_code, pm.sepa_debit.country) == ('3201', '19043', 'AT')
    assert re.fullmatch(r'[0-9a-f]{16}', pm.sepa_debit.fingerprint)
    assert (pm.billing_details.name, pm.billing_details.email) == ('Ada Lovelace', 'ada@example.com')
    assert pm.customer is None  # payment mode saves nothing without setup_future_usage
    pending = await backend.v1.charges.retrieve_async(intent.latest_charge)
    assert pending.id.startswith('py_')  # Stripe's prefix for charges that are not card charges
    assert (pending.status, pending.paid, pending.payment_method_details.type) == ('pending', False, 'sepa_debit')
    mandate = await backend.v1.mandates.retrieve_async(pending.payment_method_details.sepa_debit.mandate)
    assert (mandate.type, mandate.status, mandate.payment_method) == ('single_use', 'active', pm.id)
    assert (mandate.single_use.amount, mandate.single_use.currency) == (2000, 'usd')
    assert mandate.customer_acceptance.online.user_agent == 'sepa-test'
    async with httpx.AsyncClient() as http:
        mandate_page = await http.get(mandate.payment_method_details.sepa_debit.url)
        forged = await http.get(mandate.payment_method_details.sepa_debit.url[:-4] + 'abcd')
    assert mandate_page.status_code == 200 and mandate.payment_method_details.sepa_debit.reference in mandate_page.text
    assert forged.status_code == 404
    # What the payment itself emitted (under load the settlement, DELAY later, may already follow it).
    assert (await _types_after(backend, before))[:4] == [
        'payment_intent.created', 'charge.pending', 'payment_intent.processing', 'checkout.session.completed',
    ]  # fmt: skip

    settled = await _settled(backend, intent.id)
    assert (settled.status, settled.amount_received) == ('succeeded', 2000)
    assert (settled.latest_charge.status, settled.latest_charge.paid) == ('succeeded', True)
    done = await backend.v1.checkout.sessions.retrieve_async(session.id, params={'expand': ['invoice']})
    assert (done.status, done.payment_status) == ('complete', 'paid')
    assert (done.invoice.status, done.invoice.amount_paid) == ('paid', 2000)
    after = await _types_after(backend, before)
    assert after[4:] == [
        'charge.succeeded', 'payment_intent.succeeded', 'invoice.created', 'invoice.finalized', 'invoice.paid',
        'invoice.payment_succeeded', 'checkout.session.async_payment_succeeded',
    ]  # fmt: skip
    last = (await backend.v1.events.list_async(params={'limit': 1})).data[0]
    assert (last.data.object.id, last.data.object.payment_status) == (session.id, 'paid')
    # Refunds work once the payment went through.
    assert (await backend.v1.refunds.create_async(params={'payment_intent': intent.id})).amount == 2000


async def test_failing_iban_leaves_the_session_unpaid(backend):
    session = await _session(backend)
    before = await _last_event_id(backend)
    assert (await _pay_by_iban(session, iban=FAILS)).status_code == 303
    intent_id = (await backend.v1.checkout.sessions.retrieve_async(session.id)).payment_intent
    with pytest.raises(stripe.InvalidRequestError):  # nothing to refund while it is processing
        await backend.v1.refunds.create_async(params={'payment_intent': intent_id})
    intent = await _settled(backend, intent_id)
    assert (intent.status, intent.payment_method, intent.amount_received) == ('requires_payment_method', None, 0)
    assert intent.last_payment_error.code == 'payment_intent_payment_attempt_failed'
    assert intent.last_payment_error.charge == intent.latest_charge.id
    assert (intent.latest_charge.status, intent.latest_charge.failure_code) == ('failed', 'generic_could_not_process')
    done = await backend.v1.checkout.sessions.retrieve_async(session.id)
    assert (done.status, done.payment_status) == ('complete', 'unpaid')
    assert await _types_after(backend, before) == [
        'payment_intent.created', 'charge.pending', 'payment_intent.processing', 'checkout.session.completed',
        'charge.failed', 'payment_intent.payment_failed', 'checkout.session.async_payment_failed',
    ]  # fmt: skip


async def test_german_test_iban_succeeds(backend):
    session = await _session(backend)
    assert (await _pay_by_iban(session, iban='DE89 3704 0044 0532 0130 00')).status_code == 303
    intent = await _settled(backend, (await backend.v1.checkout.sessions.retrieve_async(session.id)).payment_intent)
    assert intent.status == 'succeeded'
    pm = await backend.v1.payment_methods.retrieve_async(intent.payment_method)
    assert (pm.sepa_debit.bank_code, pm.sepa_debit.last4, pm.sepa_debit.country) == ('37040044', '3000', 'DE')


async def test_disputed_test_iban(backend):
    session = await _session(backend)
    assert (await _pay_by_iban(session, iban='AT591904300235473203')).status_code == 303
    intent = await _settled(backend, (await backend.v1.checkout.sessions.retrieve_async(session.id)).payment_intent)
    assert (intent.status, intent.latest_charge.disputed) == ('succeeded', True)
    [dispute] = (await backend.v1.disputes.list_async(params={'payment_intent': intent.id})).data
    assert (dispute.reason, dispute.status, dispute.charge) == ('fraudulent', 'needs_response', intent.latest_charge.id)


@pytest.mark.parametrize(
    ('fields', 'field', 'message'),
    [
        ({'iban': 'AT611904300234573202'}, 'iban', 'Your IBAN is invalid.'),  # checksum
        ({'iban': 'AT61 1904 3002'}, 'iban', 'Your IBAN is incomplete.'),
        ({'iban': ''}, 'iban', 'Your IBAN is incomplete.'),
        ({'iban': 'US12 3456 7890 1234 5678'}, 'iban', "Your IBAN's country code is invalid."),
        ({'iban': 'DE02120300000000202051'}, 'iban', 'used a non test bank account'),  # a real, valid IBAN
        ({'account_holder': ' '}, 'account-holder', 'Enter the account holder name.'),
    ],
)
async def test_bank_details_are_checked_next_to_their_field(backend, fields, field, message):
    session = await _session(backend)
    page = await _pay_by_iban(session, **fields)
    assert page.status_code == 400
    error = re.search(rf'<p class="field-error" id="{field}-error" role="alert">([^<]*)</p>', page.text)
    assert error and message.replace("'", '&#x27;') in error.group(1)
    assert f'aria-describedby="{field}-error"' in page.text
    assert 'value="sepa_debit" checked' in page.text  # the page comes back on the SEPA tab
    assert (await backend.v1.checkout.sessions.retrieve_async(session.id)).status == 'open'


async def test_setup_mode_saves_the_bank_account(backend):
    customer = await backend.v1.customers.create_async(params={'name': 'Saver', 'email': 'saver@example.com'})
    session = await _session(backend, mode='setup', customer=customer.id)
    assert (await _pay_by_iban(session)).status_code == 303
    done = await backend.v1.checkout.sessions.retrieve_async(session.id, params={'expand': ['setup_intent']})
    intent = done.setup_intent
    assert (done.status, done.payment_status, intent.status) == ('complete', 'no_payment_required', 'succeeded')
    pm = await backend.v1.payment_methods.retrieve_async(intent.payment_method)
    assert (pm.type, pm.customer) == ('sepa_debit', customer.id)
    mandate = await backend.v1.mandates.retrieve_async(intent.mandate)
    assert (mandate.type, mandate.payment_method) == ('multi_use', pm.id)
    listed = await backend.v1.customers.payment_methods.list_async(customer.id)
    assert [method.type for method in listed.data] == ['sepa_debit']
    assert (await backend.v1.customers.payment_methods.list_async(customer.id, params={'type': 'card'})).data == []


async def test_sepa_payment_method_over_the_api(backend):
    pm = await backend.v1.payment_methods.create_async(
        params={
            'type': 'sepa_debit',
            'sepa_debit': {'iban': 'DE89370400440532013000'},
            'billing_details': {'name': 'Jenny Rosen', 'email': 'jenny@example.com'},
        }
    )
    assert (pm.type, pm.sepa_debit.last4, pm.billing_details.name) == ('sepa_debit', '3000', 'Jenny Rosen')
    again = await backend.v1.payment_methods.create_async(
        params={'type': 'sepa_debit', 'sepa_debit': {'iban': 'DE89 3704 0044 0532 0130 00'},
                'billing_details': {'name': 'Jenny Rosen', 'email': 'jenny@example.com'}}
    )  # fmt: skip
    assert again.sepa_debit.fingerprint == pm.sepa_debit.fingerprint
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await backend.v1.payment_methods.create_async(
            params={'type': 'sepa_debit', 'sepa_debit': {'iban': 'DE89370400440532013001'},
                    'billing_details': {'name': 'J', 'email': 'j@example.com'}}
        )  # fmt: skip
    assert (raised.value.param, raised.value.code) == ('sepa_debit[iban]', 'invalid_bank_account_iban')
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await backend.v1.payment_methods.create_async(
            params={'type': 'sepa_debit', 'sepa_debit': {'iban': 'DE89370400440532013000'}}
        )
    assert raised.value.param == 'billing_details[name]'


async def test_a_test_clock_settles_when_it_passes_the_due_time(tmp_path):
    server = EmulatorServer(tmp_path, async_payment_delay_seconds=180).start()
    try:
        backend = _Backend(stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url}))
        clock = await backend.v1.test_helpers.test_clocks.create_async(params={'frozen_time': JAN_1_2027})
        customer = await backend.v1.customers.create_async(params={'name': 'Clocked', 'test_clock': clock.id})
        # A bank account saved in setup mode pays the subscription's first invoice.
        setup = await _session(backend, mode='setup', customer=customer.id)
        assert (await _pay_by_iban(setup)).status_code == 303
        pm = await backend.v1.checkout.sessions.retrieve_async(setup.id, params={'expand': ['setup_intent']})
        prices = await catalogue(backend)
        subscription = await backend.v1.subscriptions.create_async(
            params={'customer': customer.id, 'items': [{'price': prices.pro_monthly}],
                    'default_payment_method': pm.setup_intent.payment_method, 'expand': ['latest_invoice.payments']}
        )  # fmt: skip
        assert (subscription.status, subscription.latest_invoice.status) == ('incomplete', 'open')
        intent_id = subscription.latest_invoice.payments.data[0].payment.payment_intent
        payment = await _session(backend, customer=customer.id)
        assert (await _pay_by_iban(payment, iban=FAILS)).status_code == 303
        failing_id = (await backend.v1.checkout.sessions.retrieve_async(payment.id)).payment_intent

        await asyncio.sleep(0.3)  # real time passing does not settle clock payments
        assert (await backend.v1.payment_intents.retrieve_async(intent_id)).status == 'processing'
        await backend.v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': JAN_1_2027 + 179})
        assert (await backend.v1.payment_intents.retrieve_async(intent_id)).status == 'processing'
        await backend.v1.test_helpers.test_clocks.advance_async(clock.id, params={'frozen_time': JAN_1_2027 + 181})
        assert (await backend.v1.payment_intents.retrieve_async(intent_id)).status == 'succeeded'
        assert (await backend.v1.payment_intents.retrieve_async(failing_id)).status == 'requires_payment_method'
        subscription = await backend.v1.subscriptions.retrieve_async(
            subscription.id, params={'expand': ['latest_invoice']}
        )
        assert (subscription.status, subscription.latest_invoice.status) == ('active', 'paid')
        assert subscription.latest_invoice.status_transitions.paid_at == JAN_1_2027 + 180
        assert (await backend.v1.checkout.sessions.retrieve_async(payment.id)).payment_status == 'unpaid'
    finally:
        server.stop()


async def test_settlement_survives_a_restart_and_happens_once(tmp_path):
    first = EmulatorServer(tmp_path, async_payment_delay_seconds=0.5).start()
    backend = _Backend(stripe.StripeClient(first.emulator.api_key, base_addresses={'api': first.api_url}))
    session = await _session(backend)
    assert (await _pay_by_iban(session)).status_code == 303
    intent_id = (await backend.v1.checkout.sessions.retrieve_async(session.id)).payment_intent
    first.stop()  # before it is due
    await asyncio.sleep(0.6)

    # Two emulators over the same files, as after a restart with an old process still around: one settlement.
    config = EmulatorConfig(data_dir=tmp_path, async_payment_delay_seconds=0.5)
    other = Emulator(config)
    second = EmulatorServer(tmp_path, async_payment_delay_seconds=0.5).start()
    try:
        with other.store.transaction():
            renew_real_time(other.context(), time.time())
        backend = _Backend(stripe.StripeClient(second.emulator.api_key, base_addresses={'api': second.api_url}))
        intent = await _settled(backend, intent_id)
        with second.emulator.store.transaction():
            renew_real_time(second.emulator.context(), time.time() + 3600)
        assert intent.status == 'succeeded'
        assert (await backend.v1.checkout.sessions.retrieve_async(session.id)).payment_status == 'paid'
        for kind in ('payment_intent.succeeded', 'charge.succeeded', 'checkout.session.async_payment_succeeded'):
            events = await backend.v1.events.list_async(params={'type': kind})
            assert len(events.data) == 1, kind
    finally:
        second.stop()
        other.close()


async def test_webhooks_tell_the_host_about_the_settlement(tmp_path):
    from .receiver import Receiver
    from .serving import ServerThread

    endpoint = ServerThread()
    server = EmulatorServer(tmp_path, webhook_url=f'{endpoint.url}/stripe/webhook', async_payment_delay_seconds=0.2)
    receiver = Receiver(server.emulator.webhook_secret)
    endpoint.start(receiver.app())
    server.start()
    try:
        backend = _Backend(stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url}))
        session = await _session(backend)
        assert (await _pay_by_iban(session)).status_code == 303
        intent_id = (await backend.v1.checkout.sessions.retrieve_async(session.id)).payment_intent
        await _settled(backend, intent_id)
        await server.emulator.drain(timeout=10)
    finally:
        server.stop()
        endpoint.stop()
    kinds = [delivery.event_type for delivery in receiver.deliveries]
    assert kinds.index('checkout.session.completed') < kinds.index('checkout.session.async_payment_succeeded')


async def test_the_finished_page_tells_processing_from_failed(backend):
    session = await _session(backend)
    assert (await _pay_by_iban(session, iban=FAILS)).status_code == 303
    async with httpx.AsyncClient() as http:
        assert '<h2>Payment processing</h2>' in (await http.get(session.url)).text
        await _settled(backend, (await backend.v1.checkout.sessions.retrieve_async(session.id)).payment_intent)
        assert '<h2>Payment failed</h2>' in (await http.get(session.url)).text

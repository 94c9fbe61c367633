"""Charges, refunds and disputes through the real SDK. The refund tests also run against real Stripe test mode when
STRIPE_TEST_SECRET_KEY is set (`backend`); disputes and the event log are checked on the emulator only."""

import httpx
import pytest
import stripe

from .billing_helpers import catalogue, customer_on_clock, subscribe
from .conftest import unique
from .serving import EmulatorServer

pytestmark = pytest.mark.asyncio

# Every field of an endive Charge the emulator fills in (stripe-node's types/Charges.d.ts, optional ones aside).
CHARGE_FIELDS = {
    'id', 'object', 'amount', 'amount_captured', 'amount_refunded', 'application', 'application_fee',
    'application_fee_amount', 'balance_transaction', 'billing_details', 'calculated_statement_descriptor', 'captured',
    'created', 'currency', 'customer', 'description', 'disputed', 'failure_balance_transaction', 'failure_code',
    'failure_message', 'fraud_details', 'livemode', 'metadata', 'on_behalf_of', 'outcome', 'paid', 'payment_intent',
    'payment_method', 'payment_method_details', 'radar_options', 'receipt_email', 'receipt_number', 'receipt_url',
    'refunded', 'review', 'shipping', 'source', 'source_transfer', 'statement_descriptor',
    'statement_descriptor_suffix', 'status', 'transfer_data', 'transfer_group',
}  # fmt: skip


class _Backend:
    def __init__(self, client):
        self.v1 = client.v1


async def _paid_invoice(backend, card: str = 'tok_visa', price: str | None = None):
    """A customer on a test clock whose first invoice was charged to `card`; returns (customer, invoice, intent)."""
    prices = await catalogue(backend)
    _, customer, _ = await customer_on_clock(backend, card=card)
    subscription = await subscribe(backend, customer, price or prices.pro_monthly)
    invoice = await backend.v1.invoices.retrieve_async(subscription.latest_invoice, params={'expand': ['payments']})
    [payment] = invoice.payments.data
    intent = await backend.v1.payment_intents.retrieve_async(
        payment.payment.payment_intent, params={'expand': ['latest_charge']}
    )
    return customer, invoice, intent


async def test_a_card_payment_leaves_a_charge(backend):
    customer, invoice, intent = await _paid_invoice(backend)
    charge = intent.latest_charge
    assert charge.id.startswith('ch_')
    assert (charge.object, charge.status, charge.paid, charge.captured) == ('charge', 'succeeded', True, True)
    assert (charge.amount, charge.amount_captured, charge.amount_refunded, charge.refunded) == (5000, 5000, 0, False)
    assert (charge.payment_intent, charge.customer, charge.currency) == (intent.id, customer.id, 'usd')
    assert charge.payment_method == intent.payment_method
    assert charge.disputed is False
    assert charge.payment_method_details.type == 'card'
    assert (charge.payment_method_details.card.brand, charge.payment_method_details.card.last4) == ('visa', '4242')
    assert charge.outcome.type == 'authorized'
    assert (await backend.v1.charges.retrieve_async(charge.id)).id == charge.id
    by_intent = await backend.v1.charges.list_async(params={'payment_intent': intent.id})
    assert [c.id for c in by_intent.data] == [charge.id]
    by_customer = await backend.v1.charges.list_async(params={'customer': customer.id})
    assert [c.id for c in by_customer.data] == [charge.id]
    if backend.is_emulator:
        assert set(charge.to_dict()) == CHARGE_FIELDS
        assert charge.balance_transaction is None


async def test_refunds_in_parts_then_refused(backend):
    _, _, intent = await _paid_invoice(backend)
    charge_id = intent.latest_charge.id
    first = await backend.v1.refunds.create_async(
        params={'payment_intent': intent.id, 'amount': 1500, 'reason': 'requested_by_customer', 'metadata': {'n': '1'}}
    )
    assert first.id.startswith('re_')
    assert (first.object, first.status, first.amount, first.currency) == ('refund', 'succeeded', 1500, 'usd')
    assert (first.charge, first.payment_intent, first.reason) == (charge_id, intent.id, 'requested_by_customer')
    assert first.metadata['n'] == '1'
    charge = await backend.v1.charges.retrieve_async(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (1500, False)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        await backend.v1.refunds.create_async(params={'charge': charge_id, 'amount': 3501})
    assert raised.value.param == 'amount'
    assert raised.value.code is None
    assert raised.value.user_message == 'Refund amount ($35.01) is greater than unrefunded amount on charge ($35.00)'

    rest = await backend.v1.refunds.create_async(params={'charge': charge_id})  # no amount: what is left
    assert rest.amount == 3500
    charge = await backend.v1.charges.retrieve_async(charge_id)
    assert (charge.amount_refunded, charge.refunded, charge.amount_captured) == (5000, True, 5000)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        await backend.v1.refunds.create_async(params={'payment_intent': intent.id})
    assert raised.value.code == 'charge_already_refunded'

    listed = await backend.v1.refunds.list_async(params={'payment_intent': intent.id})
    assert [refund.id for refund in listed.data] == [rest.id, first.id]
    by_charge = await backend.v1.refunds.list_async(params={'charge': charge_id})
    assert [refund.id for refund in by_charge.data] == [rest.id, first.id]
    assert (await backend.v1.refunds.retrieve_async(first.id)).amount == 1500
    expanded = await backend.v1.charges.retrieve_async(charge_id, params={'expand': ['refunds']})
    assert {refund.id for refund in expanded.refunds.data} == {first.id, rest.id}


async def test_refund_idempotency(backend):
    _, _, intent = await _paid_invoice(backend)
    key = unique('refund')
    params = {'payment_intent': intent.id, 'amount': 1000}
    first = await backend.v1.refunds.create_async(params=params, options={'idempotency_key': key})
    again = await backend.v1.refunds.create_async(params=dict(params), options={'idempotency_key': key})
    assert again.id == first.id
    assert again.last_response.headers.get('Idempotent-Replayed') == 'true'
    with pytest.raises(stripe.IdempotencyError):
        await backend.v1.refunds.create_async(
            params={'payment_intent': intent.id, 'amount': 2000}, options={'idempotency_key': key}
        )
    assert len((await backend.v1.refunds.list_async(params={'payment_intent': intent.id})).data) == 1
    assert (await backend.v1.charges.retrieve_async(intent.latest_charge.id)).amount_refunded == 1000


async def test_refund_needs_a_succeeded_payment(emulator_client):
    backend = _Backend(emulator_client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await backend.v1.refunds.create_async(params={'amount': 100})
    assert 'payment_intent or charge' in raised.value.user_message
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await backend.v1.refunds.create_async(params={'charge': 'ch_doesnotexist'})
    assert (raised.value.code, raised.value.param) == ('resource_missing', 'charge')
    # A declined attempt leaves a failed charge and nothing to refund.
    prices = await catalogue(backend)
    _, customer, _ = await customer_on_clock(backend, card='tok_chargeCustomerFail')
    subscription = await subscribe(backend, customer, prices.pro_monthly)
    invoice = await backend.v1.invoices.retrieve_async(subscription.latest_invoice, params={'expand': ['payments']})
    intent = await backend.v1.payment_intents.retrieve_async(
        invoice.payments.data[0].payment.payment_intent, params={'expand': ['latest_charge']}
    )
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await backend.v1.refunds.create_async(params={'payment_intent': intent.id})
    assert raised.value.user_message == f'This PaymentIntent ({intent.id}) does not have a successful charge to refund.'
    with pytest.raises(stripe.InvalidRequestError):
        await backend.v1.refunds.create_async(params={'charge': intent.latest_charge.id})


async def test_a_declined_attempt_leaves_a_failed_charge(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    _, customer, pm = await customer_on_clock(backend, card='tok_chargeCustomerFail')
    subscription = await subscribe(backend, customer, prices.pro_monthly)
    assert subscription.status == 'incomplete'
    invoice = await backend.v1.invoices.retrieve_async(subscription.latest_invoice, params={'expand': ['payments']})
    intent = await backend.v1.payment_intents.retrieve_async(
        invoice.payments.data[0].payment.payment_intent, params={'expand': ['latest_charge']}
    )
    charge = intent.latest_charge
    assert intent.status == 'requires_payment_method'
    assert intent.last_payment_error.charge == charge.id
    assert (charge.status, charge.paid, charge.captured, charge.amount_captured) == ('failed', False, False, 0)
    assert (charge.failure_code, charge.failure_message) == ('card_declined', 'Your card was declined.')
    assert (charge.outcome.type, charge.outcome.reason) == ('issuer_declined', 'generic_decline')
    assert charge.payment_method == pm.id
    events = await backend.v1.events.list_async(params={'type': 'charge.failed'})
    assert charge.id in {event.data.object.id for event in events.data}


async def test_checkout_payment_charge_and_invoice_payments(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'Charged', 'email': 'charged@example.com'})
    session = await backend.v1.checkout.sessions.create_async(
        params={
            'mode': 'payment',
            'customer': customer.id,
            'line_items': [{'price': prices.token_pack, 'quantity': 2}],
            'invoice_creation': {'enabled': True},
            'payment_intent_data': {'metadata': {'order': '7'}},
            'success_url': 'https://x.example/ok',
        }
    )
    async with httpx.AsyncClient() as http:
        paid = await http.post(
            session.url,
            data={'card_number': '5555 5555 5555 4444', 'expiry': '12 / 34', 'cvc': '123', 'name': 'Ada Lovelace'},
        )
    assert paid.status_code == 303
    done = await backend.v1.checkout.sessions.retrieve_async(
        session.id, params={'expand': ['payment_intent.latest_charge', 'invoice.payments']}
    )
    charge = done.payment_intent.latest_charge
    assert (charge.status, charge.amount, charge.customer, charge.metadata['order']) == (
        'succeeded', 2000, customer.id, '7')  # fmt: skip
    assert charge.billing_details.name == 'Ada Lovelace'
    assert charge.payment_method_details.card.brand == 'mastercard'
    [payment] = done.invoice.payments.data
    assert (payment.status, payment.amount_paid) == ('paid', 2000)
    assert payment.payment.payment_intent == done.payment_intent.id


async def test_dispute_card_and_closing_the_dispute(tmp_path):
    server = EmulatorServer(tmp_path).start()  # a fresh event log
    try:
        backend = _Backend(stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url}))
        _, _, intent = await _paid_invoice(backend, card='tok_createDispute')
        charge = await backend.v1.charges.retrieve_async(intent.latest_charge.id)
        assert (intent.status, charge.status, charge.disputed) == ('succeeded', 'succeeded', True)
        [dispute] = (await backend.v1.disputes.list_async(params={'charge': charge.id})).data
        assert dispute.id.startswith('du_')
        assert (dispute.status, dispute.reason, dispute.amount, dispute.currency) == (
            'needs_response', 'fraudulent', 5000, 'usd')  # fmt: skip
        assert (dispute.charge, dispute.payment_intent, dispute.is_charge_refundable) == (charge.id, intent.id, False)
        assert dispute.evidence_details.due_by > dispute.created
        assert dispute.payment_method_details.card.case_type == 'chargeback'
        assert (await backend.v1.disputes.list_async(params={'payment_intent': intent.id})).data[0].id == dispute.id
        assert dispute.id in {d.id for d in (await backend.v1.disputes.list_async(params={'limit': 100})).data}

        with pytest.raises(stripe.InvalidRequestError) as raised:
            await backend.v1.refunds.create_async(params={'charge': charge.id})
        assert raised.value.code == 'charge_disputed'

        closed = await backend.v1.disputes.close_async(dispute.id)
        assert closed.status == 'lost'
        assert (await backend.v1.disputes.retrieve_async(dispute.id)).status == 'lost'
        with pytest.raises(stripe.InvalidRequestError):
            await backend.v1.disputes.close_async(dispute.id)
        events = await backend.v1.events.list_async(params={'limit': 100})
    finally:
        server.stop()
    types = [event.type for event in reversed(events.data)]
    flow = types[types.index('payment_intent.created') :]
    assert flow[:4] == ['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded',
                        'charge.dispute.created']  # fmt: skip
    assert types[-1] == 'charge.dispute.closed'
    assert events.data[0].data.object.id == dispute.id
    assert events.data[0].data.object.status == 'lost'


async def test_inquiry_dispute_card_can_still_be_refunded(emulator_client):
    backend = _Backend(emulator_client)
    _, _, intent = await _paid_invoice(backend, card='tok_createDisputeInquiry')
    [dispute] = (await backend.v1.disputes.list_async(params={'payment_intent': intent.id})).data
    assert (dispute.status, dispute.is_charge_refundable) == ('warning_needs_response', True)
    refund = await backend.v1.refunds.create_async(params={'payment_intent': intent.id})
    assert refund.status == 'succeeded'
    assert (await backend.v1.disputes.close_async(dispute.id)).status == 'warning_closed'


async def test_dispute_test_card_on_the_hosted_checkout(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    session = await backend.v1.checkout.sessions.create_async(
        params={'mode': 'payment', 'line_items': [{'price': prices.token_pack}], 'success_url': 'https://x.example/ok'}
    )
    async with httpx.AsyncClient() as http:
        paid = await http.post(
            session.url,
            data={'card_number': '4000 0000 0000 0259', 'expiry': '12 / 34', 'cvc': '123', 'name': 'Disputer'},
        )
    assert paid.status_code == 303
    done = await backend.v1.checkout.sessions.retrieve_async(session.id, params={'expand': ['payment_intent']})
    assert done.payment_status == 'paid'
    [dispute] = (await backend.v1.disputes.list_async(params={'payment_intent': done.payment_intent.id})).data
    assert (dispute.reason, dispute.amount) == ('fraudulent', 1000)
    assert (await backend.v1.charges.retrieve_async(dispute.charge)).disputed is True


async def test_refund_events_carry_the_updated_charge(tmp_path):
    server = EmulatorServer(tmp_path).start()
    try:
        backend = _Backend(stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url}))
        _, _, intent = await _paid_invoice(backend)
        refund = await backend.v1.refunds.create_async(params={'payment_intent': intent.id, 'amount': 700})
        events = await backend.v1.events.list_async(params={'limit': 2})
    finally:
        server.stop()
    charge_refunded, refund_created = events.data
    assert (refund_created.type, refund_created.data.object.id) == ('refund.created', refund.id)
    assert charge_refunded.type == 'charge.refunded'
    updated = charge_refunded.data.object
    assert (updated.id, updated.amount_refunded, updated.refunded) == (intent.latest_charge.id, 700, False)
    # Same request, same transaction.
    assert charge_refunded.request.id == refund_created.request.id == refund.last_response.request_id

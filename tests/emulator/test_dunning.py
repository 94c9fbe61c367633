"""Failed renewals in the emulator: retried 3, 5 and 7 days after the first failure on the test clock, then the
subscription canceled (the default) or marked unpaid; paying in between ends the retries.

Stripe's Smart Retries pick their own times, so these run against the emulator only.
"""

import pytest
import stripe

from .billing_helpers import DAY, JAN_1_2027, catalogue, customer_on_clock, subscribe
from .serving import EmulatorServer
from .test_emulator_billing import _Backend

pytestmark = pytest.mark.asyncio

FEB_1 = JAN_1_2027 + 31 * DAY


async def _failing_renewal(backend):
    """A monthly subscription paid on Jan 1 whose card then starts failing: its Feb 1 renewal fails."""
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.basic_monthly)
    failing = await backend.v1.payment_methods.create_async(
        params={'type': 'card', 'card': {'token': 'tok_chargeCustomerFail'}}
    )
    await backend.v1.payment_methods.attach_async(failing.id, params={'customer': customer.id})
    await backend.v1.customers.update_async(customer.id, params={'invoice_settings': {'default_payment_method':
                                                                                      failing.id}})  # fmt: skip
    await backend.advance_clock(clock.id, FEB_1 + 60)
    renewed = await backend.v1.subscriptions.retrieve_async(subscription.id, params={'expand': ['latest_invoice']})
    return clock, customer, renewed


async def _failures(client, invoice_id: str) -> list:
    events = await client.v1.events.list_async(params={'type': 'invoice.payment_failed', 'limit': 100})
    return [event.data.object for event in reversed(events.data) if event.data.object.id == invoice_id]


async def test_a_failed_renewal_is_retried_on_days_3_5_and_7_then_canceled(emulator_client):
    backend = _Backend(emulator_client)
    clock, _, subscription = await _failing_renewal(backend)
    invoice = subscription.latest_invoice
    assert subscription.status == 'past_due'
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == ('open', 1, FEB_1 + 3 * DAY)

    await backend.advance_clock(clock.id, FEB_1 + 3 * DAY + 60)
    invoice = await backend.v1.invoices.retrieve_async(invoice.id)
    assert (invoice.attempt_count, invoice.next_payment_attempt) == (2, FEB_1 + 5 * DAY)
    assert (await backend.v1.subscriptions.retrieve_async(subscription.id)).status == 'past_due'

    await backend.advance_clock(clock.id, FEB_1 + 8 * DAY)
    invoice = await backend.v1.invoices.retrieve_async(invoice.id)
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == ('open', 4, None)
    ended = await backend.v1.subscriptions.retrieve_async(subscription.id)
    assert (ended.status, ended.ended_at, ended.cancellation_details.reason) == (
        'canceled',
        FEB_1 + 7 * DAY,
        'payment_failed',
    )
    # Each failure's event already names the next retry, as on Stripe; the last names none.
    told = [failure.next_payment_attempt for failure in await _failures(emulator_client, invoice.id)]
    assert told == [FEB_1 + 3 * DAY, FEB_1 + 5 * DAY, FEB_1 + 7 * DAY, None]


async def test_a_retry_with_a_working_card_pays_the_invoice_and_ends_the_retries(emulator_client):
    backend = _Backend(emulator_client)
    clock, customer, subscription = await _failing_renewal(backend)
    card = await backend.v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    await backend.v1.payment_methods.attach_async(card.id, params={'customer': customer.id})
    await backend.v1.customers.update_async(customer.id, params={'invoice_settings': {'default_payment_method':
                                                                                      card.id}})  # fmt: skip
    await backend.advance_clock(clock.id, FEB_1 + 10 * DAY)
    invoice = await backend.v1.invoices.retrieve_async(subscription.latest_invoice.id)
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == ('paid', 2, None)
    assert invoice.status_transitions.paid_at == FEB_1 + 3 * DAY
    assert (await backend.v1.subscriptions.retrieve_async(subscription.id)).status == 'active'


async def test_paying_the_invoice_by_hand_stops_the_retries(emulator_client):
    backend = _Backend(emulator_client)
    clock, customer, subscription = await _failing_renewal(backend)
    invoice = subscription.latest_invoice
    with pytest.raises(stripe.CardError):
        await backend.v1.invoices.pay_async(invoice.id)  # the default card still fails: Pay now refused
    card = await backend.v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    await backend.v1.payment_methods.attach_async(card.id, params={'customer': customer.id})
    paid = await backend.v1.invoices.pay_async(invoice.id, params={'payment_method': card.id})
    assert (paid.status, paid.next_payment_attempt) == ('paid', None)
    await backend.advance_clock(clock.id, FEB_1 + 10 * DAY)
    assert (await backend.v1.invoices.retrieve_async(invoice.id)).attempt_count == 3  # no retry after that
    assert (await backend.v1.subscriptions.retrieve_async(subscription.id)).status == 'active'


async def test_the_unpaid_policy_keeps_the_subscription_but_stops_attempting(tmp_path):
    server = EmulatorServer(tmp_path, past_due_policy='unpaid').start()
    try:
        client = stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url})
        backend = _Backend(client)
        clock, _, subscription = await _failing_renewal(backend)
        await backend.advance_clock(clock.id, FEB_1 + 8 * DAY)
        assert (await backend.v1.subscriptions.retrieve_async(subscription.id)).status == 'unpaid'
        # The next period is still invoiced, but not attempted.
        await backend.advance_clock(clock.id, FEB_1 + 29 * DAY)
        current = await backend.v1.subscriptions.retrieve_async(subscription.id, params={'expand': ['latest_invoice']})
        assert current.status == 'unpaid'
        assert current.latest_invoice.id != subscription.latest_invoice.id
        assert (current.latest_invoice.status, current.latest_invoice.attempt_count) == ('open', 0)
    finally:
        server.stop()


async def test_an_unknown_policy_is_refused(tmp_path):
    from stripe_emulator import EmulatorConfig

    with pytest.raises(ValueError, match='past_due_policy'):
        EmulatorConfig(data_dir=tmp_path, past_due_policy='keep')

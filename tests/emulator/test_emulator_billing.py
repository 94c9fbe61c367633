"""Billing behaviour specific to the emulator: documented choices where Stripe offers several, and real time."""

import time

import pytest
import stripe

from stripe_emulator.clock import renew_real_time

from .billing_helpers import DAY, JAN_1_2027, catalogue, customer_on_clock, subscribe
from .serving import EmulatorServer

pytestmark = pytest.mark.asyncio


class _Backend:
    def __init__(self, client):
        self.v1 = client.v1

    async def advance_clock(self, clock_id, frozen_time):
        await self.v1.test_helpers.test_clocks.advance_async(clock_id, params={'frozen_time': frozen_time})


async def test_no_upcoming_invoice_once_cancellation_is_scheduled(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    _, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.pro_monthly)
    await backend.v1.subscriptions.update_async(subscription.id, params={'cancel_at_period_end': True})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await backend.v1.invoices.create_preview_async(params={'subscription': subscription.id})
    assert raised.value.code == 'invoice_upcoming_none'
    preview = await backend.v1.invoices.create_preview_async(
        params={'subscription': subscription.id, 'subscription_details': {'cancel_at_period_end': False}}
    )
    assert preview.amount_due == 5000


async def test_preview_of_next_invoice_and_of_a_new_subscription(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    _, customer, _ = await customer_on_clock(backend)
    new = await backend.v1.invoices.create_preview_async(
        params={
            'customer': customer.id,
            'subscription_details': {'items': [{'price': prices.pro_yearly, 'quantity': 2}]},
        }
    )
    assert (new.amount_due, new.billing_reason) == (100000, 'subscription_create')
    subscription = await subscribe(backend, customer, prices.pro_monthly, 2)
    upcoming = await backend.v1.invoices.create_preview_async(params={'customer': customer.id})
    assert upcoming.id.startswith('upcoming_in_')
    assert upcoming.parent.subscription_details.subscription == subscription.id
    assert (upcoming.amount_due, upcoming.next_payment_attempt) == (10000, JAN_1_2027 + 31 * DAY)
    [line] = upcoming.lines.data
    assert (line.period.start, line.period.end) == (JAN_1_2027 + 31 * DAY, JAN_1_2027 + 59 * DAY)
    assert line.description == '2 × Pro (at $50.00 / month)'


async def test_allow_and_default_incomplete_updates(emulator_client):
    """allow_incomplete (the default) applies the change and leaves the unpaid invoice open: past_due.
    default_incomplete applies it without even trying to charge: past_due as well."""
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    for behavior in ('allow_incomplete', 'default_incomplete'):
        _, customer, _ = await customer_on_clock(backend, card='tok_visa')
        subscription = await subscribe(backend, customer, prices.basic_monthly)
        failing = await backend.v1.payment_methods.create_async(
            params={'type': 'card', 'card': {'token': 'tok_chargeCustomerFail'}}
        )
        await backend.v1.payment_methods.attach_async(failing.id, params={'customer': customer.id})
        item = subscription['items'].data[0]
        updated = await backend.v1.subscriptions.update_async(
            subscription.id,
            params={
                'items': [{'id': item.id, 'price': prices.pro_monthly}],
                'default_payment_method': failing.id,
                'proration_behavior': 'always_invoice',
                'payment_behavior': behavior,
                'expand': ['latest_invoice'],
            },
        )
        assert updated.status == 'past_due'
        assert updated['items'].data[0].price.id == prices.pro_monthly
        assert updated.latest_invoice.status == 'open'
        assert updated.latest_invoice.attempt_count == (1 if behavior == 'allow_incomplete' else 0)


async def test_clock_runs_several_renewals_in_order(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend, start=JAN_1_2027 + 30 * DAY)  # Jan 31: month-end anchor
    subscription = await subscribe(backend, customer, prices.pro_monthly)
    await backend.advance_clock(clock.id, JAN_1_2027 + 120 * DAY)
    invoices = await backend.v1.invoices.list_async(params={'subscription': subscription.id})
    periods = [
        (line.period.start, line.period.end) for invoice in reversed(invoices.data) for line in invoice.lines.data
    ]
    days = [(start - JAN_1_2027) // DAY for start, _ in periods]
    # Jan 31, Feb 28, Mar 31, Apr 30: anchored on the 31st like Stripe.
    assert days == [30, 58, 89, 119]
    assert all(invoice.status == 'paid' for invoice in invoices.data)


async def test_real_time_renewals_are_swept(tmp_path):
    # A server of its own: sweeping a month ahead would renew every other test's subscriptions too.
    server = EmulatorServer(tmp_path).start()
    try:
        await _sweep_a_month_ahead(server)
    finally:
        server.stop()


async def _sweep_a_month_ahead(server):
    backend = _Backend(stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url}))
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'Real time'})
    pm = await backend.v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    await backend.v1.payment_methods.attach_async(pm.id, params={'customer': customer.id})
    subscription = await subscribe(backend, customer, prices.pro_monthly, default_payment_method=pm.id)
    period_end = subscription['items'].data[0].current_period_end
    emulator = server.emulator
    with emulator.store.transaction():
        renew_real_time(emulator.context(), period_end + 60)
    renewed = await backend.v1.subscriptions.retrieve_async(subscription.id)
    assert renewed['items'].data[0].current_period_start == period_end
    assert renewed.latest_invoice != subscription.latest_invoice
    assert period_end > time.time()


async def test_hundreds_of_invoices_page_through(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    _, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.pro_monthly)
    item = subscription['items'].data[0]
    for quantity in range(2, 251):
        await backend.v1.subscriptions.update_async(
            subscription.id,
            params={'items': [{'id': item.id, 'quantity': quantity}], 'proration_behavior': 'always_invoice'},
        )
    seen = [
        invoice.id
        async for invoice in (
            await backend.v1.invoices.list_async(params={'customer': customer.id, 'limit': 100})
        ).auto_paging_iter()
    ]
    assert len(seen) == len(set(seen)) == 250
    page = await backend.v1.invoices.list_async(
        params={'customer': customer.id, 'limit': 20, 'starting_after': seen[199]}
    )
    assert [invoice.id for invoice in page.data] == seen[200:220]
    assert page.has_more is True


async def test_recurring_preview_after_an_interval_change(emulator_client):
    """What the Edit form shows as "next invoice": the first renewal of the new cycle, without one-off lines."""
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.pro_monthly, 2)
    await backend.advance_clock(clock.id, JAN_1_2027 + 10 * DAY)
    item = subscription['items'].data[0]
    details = {'items': [{'id': item.id, 'price': prices.pro_yearly}]}
    today = await backend.v1.invoices.create_preview_async(
        params={'subscription': subscription.id, 'subscription_details': details}
    )
    assert today.amount_due == 2 * 50000 - round(2 * 5000 * 21 / 31)
    recurring = await backend.v1.invoices.create_preview_async(
        params={'subscription': subscription.id, 'subscription_details': details, 'preview_mode': 'recurring'}
    )
    assert recurring.amount_due == 2 * 50000
    assert recurring.next_payment_attempt == JAN_1_2027 + 10 * DAY + 365 * DAY
    [line] = recurring.lines.data
    assert line.parent.subscription_item_details.proration is False

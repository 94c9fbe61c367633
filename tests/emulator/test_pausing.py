"""Pause and resume at endive (`subscriptions.pause` / `resume`), on the test clock: nothing renews while paused, the
unused time is credited, and resuming starts and bills a new period (emulator-only: Stripe's availability of
`subscriptions.pause` depends on the account)."""

import pytest

from .billing_helpers import DAY, JAN_1_2027, catalogue, customer_on_clock, subscribe
from .test_emulator_billing import _Backend

pytestmark = pytest.mark.asyncio


async def test_a_paused_subscription_renews_nothing_and_resuming_bills_a_new_period(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.basic_monthly)  # $30.00, Jan 1 to Feb 1
    await backend.advance_clock(clock.id, JAN_1_2027 + 16 * DAY)  # half of January's 31 days used... almost
    paused = await backend.v1.subscriptions.pause_async(subscription.id)
    assert paused.status == 'paused'
    assert paused.status_details.paused.subscription.type == 'pause_requested'
    events = await emulator_client.v1.events.list_async(params={'type': 'customer.subscription.paused'})
    assert events.data[0].data.object.id == subscription.id

    await backend.advance_clock(clock.id, JAN_1_2027 + 80 * DAY)  # past two renewal dates: none happens
    invoices = await backend.v1.invoices.list_async(params={'subscription': subscription.id})
    assert len(invoices.data) == 1
    resumed = await backend.v1.subscriptions.resume_async(subscription.id, params={'expand': ['latest_invoice']})
    assert resumed.status == 'active' and 'status_details' not in resumed
    item = resumed['items'].data[0]
    assert (item.current_period_start, resumed.billing_cycle_anchor) == (JAN_1_2027 + 80 * DAY,) * 2
    invoice = resumed.latest_invoice
    credit = round(3000 * 15 / 31)  # Jan 17 to Feb 1 unused
    assert (invoice.status, invoice.amount_paid) == ('paid', 3000 - credit)
    assert [line.amount for line in invoice.lines.data] == [-credit, 3000]


async def test_pausing_without_a_credit_and_what_cannot_be_paused_or_resumed(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    _, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.basic_monthly)
    with pytest.raises(Exception, match='cannot be resumed'):
        await backend.v1.subscriptions.resume_async(subscription.id)
    await backend.v1.subscriptions.pause_async(subscription.id, params={'bill_for': {'unused_time_from': {
        'type': 'none'}}})  # fmt: skip
    with pytest.raises(Exception, match='cannot be paused'):
        await backend.v1.subscriptions.pause_async(subscription.id)
    resumed = await backend.v1.subscriptions.resume_async(subscription.id, params={'expand': ['latest_invoice']})
    assert resumed.latest_invoice.amount_paid == 3000


async def test_resume_on_payment_success_stays_paused_when_the_card_fails(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    _, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.basic_monthly)
    # No credit: the whole unused month would otherwise pay the resumption invoice.
    await backend.v1.subscriptions.pause_async(subscription.id, params={'bill_for': {'unused_time_from': {
        'type': 'none'}}})  # fmt: skip
    failing = await backend.v1.payment_methods.create_async(params={'type': 'card', 'card': {
        'token': 'tok_chargeCustomerFail'}})  # fmt: skip
    await backend.v1.payment_methods.attach_async(failing.id, params={'customer': customer.id})
    await backend.v1.subscriptions.update_async(subscription.id, params={'default_payment_method': failing.id})
    still = await backend.v1.subscriptions.resume_async(subscription.id, params={
        'payment_behavior': 'resume_on_payment_success'})  # fmt: skip
    assert still.status == 'paused'
    resumed = await backend.v1.subscriptions.resume_async(subscription.id)
    assert resumed.status == 'past_due'

"""Subscriptions, prorations and invoices through the real SDK, on test clocks so that times are exact.

Like the core suite, these run against real Stripe test mode too when STRIPE_TEST_SECRET_KEY is set.
"""

import pytest
import stripe

from .billing_helpers import DAY, JAN_1_2027, catalogue, customer_on_clock, proration_lines, subscribe

pytestmark = pytest.mark.asyncio

JAN_31_DAYS = 31 * DAY


async def test_subscription_create_fields(backend):
    prices = await catalogue(backend)
    _, customer, pm = await customer_on_clock(backend)
    subscription = await subscribe(
        backend, customer, prices.pro_monthly, 3, metadata={'org': '7'}, expand=['latest_invoice']
    )
    assert subscription.id.startswith('sub_')
    assert subscription.status == 'active'
    assert subscription.customer == customer.id
    assert subscription.currency == 'usd'
    assert subscription.metadata['org'] == '7'
    assert (subscription.start_date, subscription.billing_cycle_anchor) == (JAN_1_2027, JAN_1_2027)
    assert subscription.cancel_at_period_end is False
    assert subscription.test_clock is not None
    item = subscription['items'].data[0]
    assert item.id.startswith('si_')
    assert (item.price.id, item.price.unit_amount, item.quantity) == (prices.pro_monthly, 5000, 3)
    assert (item.current_period_start, item.current_period_end) == (JAN_1_2027, JAN_1_2027 + JAN_31_DAYS)

    invoice = subscription.latest_invoice
    assert invoice.id.startswith('in_')
    assert invoice.status == 'paid'
    assert invoice.billing_reason == 'subscription_create'
    assert (invoice.total, invoice.amount_due, invoice.amount_paid, invoice.amount_remaining) == (
        15000,
        15000,
        15000,
        0,
    )
    assert invoice.parent.subscription_details.subscription == subscription.id
    assert invoice.number
    assert invoice.hosted_invoice_url and invoice.invoice_pdf
    line = invoice.lines.data[0]
    assert (line.amount, line.quantity) == (15000, 3)
    assert (line.period.start, line.period.end) == (JAN_1_2027, JAN_1_2027 + JAN_31_DAYS)
    assert line.pricing.price_details.price == prices.pro_monthly
    assert line.parent.subscription_item_details.proration is False


async def test_proration_preview_matches_hand_computed_example(backend):
    """Upgrade 3 seats from Basic ($30) to Pro ($50) ten days into a 31-day January.

    Remaining time: 21 days of 31, i.e. 1,814,400 of 2,678,400 seconds.
    Credit for unused Basic: 3 × 3000 × 1814400 / 2678400 = 6096.77… → -6097
    Charge for remaining Pro: 3 × 5000 × 1814400 / 2678400 = 10161.29… → 10161
    Due today with always_invoice: 10161 - 6097 = 4064 cents ($40.64).
    """
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.basic_monthly, 3)
    change_at = JAN_1_2027 + 10 * DAY
    await backend.advance_clock(clock.id, change_at)
    item = subscription['items'].data[0]

    preview = await backend.v1.invoices.create_preview_async(
        params={
            'subscription': subscription.id,
            'subscription_details': {
                'items': [{'id': item.id, 'price': prices.pro_monthly}],
                'proration_behavior': 'always_invoice',
                'proration_date': change_at,
            },
        }
    )
    lines = proration_lines(preview)
    assert sorted(line.amount for line in lines) == [-6097, 10161]
    assert all((line.period.start, line.period.end) == (change_at, JAN_1_2027 + JAN_31_DAYS) for line in lines)
    assert preview.amount_due == 4064
    assert preview.total == 4064
    assert preview.parent.subscription_details.subscription == subscription.id


@pytest.mark.parametrize(
    'change',
    ['upgrade', 'downgrade', 'seat_increase', 'interval_change'],
)
async def test_preview_equals_the_invoice_of_the_update(backend, change):
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    start_price = prices.basic_monthly if change == 'upgrade' else prices.pro_monthly
    subscription = await subscribe(backend, customer, start_price, 2)
    # An odd moment (not a whole day), so that every line needs rounding.
    change_at = JAN_1_2027 + 12 * DAY + 3 * 3600 + 17 * 60 + 41
    await backend.advance_clock(clock.id, change_at)
    item = subscription['items'].data[0]
    new_item = {
        'upgrade': {'id': item.id, 'price': prices.pro_monthly},
        'downgrade': {'id': item.id, 'price': prices.basic_monthly},
        'seat_increase': {'id': item.id, 'quantity': 5},
        'interval_change': {'id': item.id, 'price': prices.pro_yearly},
    }[change]
    details = {'items': [new_item], 'proration_behavior': 'always_invoice', 'proration_date': change_at}

    preview = await backend.v1.invoices.create_preview_async(
        params={'subscription': subscription.id, 'subscription_details': details}
    )
    updated = await backend.v1.subscriptions.update_async(
        subscription.id,
        params={
            'items': [new_item],
            'proration_behavior': 'always_invoice',
            'proration_date': change_at,
            'payment_behavior': 'error_if_incomplete',
            'expand': ['latest_invoice'],
        },
    )
    invoice = updated.latest_invoice
    assert invoice.id != subscription.latest_invoice
    assert invoice.billing_reason == 'subscription_update'
    assert sorted(line.amount for line in invoice.lines.data) == sorted(line.amount for line in preview.lines.data)
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (
        preview.subtotal,
        preview.total,
        preview.amount_due,
    )
    assert invoice.status == 'paid'
    if change == 'downgrade':
        assert invoice.total < 0 and invoice.amount_due == 0  # the credit goes to the customer's balance
        customer = await backend.v1.customers.retrieve_async(customer.id)
        assert customer.balance == invoice.total
    if change == 'interval_change':
        # A new billing interval starts a new period now, like Stripe.
        new = updated['items'].data[0]
        assert updated.billing_cycle_anchor == change_at
        assert new.current_period_start == change_at
        assert new.price.recurring.interval == 'year'
        assert any(line.amount == 2 * 50000 for line in invoice.lines.data)


async def test_create_prorations_are_added_to_the_next_invoice(backend):
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.pro_monthly, 1)
    change_at = JAN_1_2027 + 15 * DAY
    await backend.advance_clock(clock.id, change_at)
    item = subscription['items'].data[0]
    await backend.v1.subscriptions.update_async(
        subscription.id,
        params={'items': [{'id': item.id, 'quantity': 2}], 'proration_date': change_at},
    )
    # Next regular invoice: one more seat for the 16 remaining days, then two seats for February.
    upcoming = await backend.v1.invoices.create_preview_async(params={'subscription': subscription.id})
    extra_seat = round(5000 * 16 / 31)  # 2580.6… → 2581, as credit -2581 + debit 5161 (10000 × 16/31 = 5161.3)
    assert sum(line.amount for line in proration_lines(upcoming)) == -2581 + 5161
    assert extra_seat == 2581
    assert upcoming.amount_due == 10000 + 5161 - 2581
    assert upcoming.next_payment_attempt == upcoming.period_end == JAN_1_2027 + JAN_31_DAYS

    await backend.advance_clock(clock.id, JAN_1_2027 + JAN_31_DAYS + 3600)
    invoices = await backend.v1.invoices.list_async(params={'subscription': subscription.id})
    renewal = invoices.data[0]
    assert renewal.billing_reason == 'subscription_cycle'
    assert renewal.status == 'paid'
    assert renewal.amount_paid == upcoming.amount_due


async def test_renewal_with_failing_card_goes_past_due(backend):
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend, card='tok_chargeCustomerFail')
    subscription = await subscribe(backend, customer, prices.pro_monthly, payment_behavior='allow_incomplete')
    assert subscription.status == 'incomplete'
    pm = await backend.v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    await backend.v1.payment_methods.attach_async(pm.id, params={'customer': customer.id})
    invoice = await backend.v1.invoices.pay_async(subscription.latest_invoice, params={'payment_method': pm.id})
    assert invoice.status == 'paid'
    assert (await backend.v1.subscriptions.retrieve_async(subscription.id)).status == 'active'

    # The renewal charges the customer's default card, which declines every charge.
    await backend.advance_clock(clock.id, JAN_1_2027 + JAN_31_DAYS + 3 * 3600)
    subscription = await backend.v1.subscriptions.retrieve_async(subscription.id, params={'expand': ['latest_invoice']})
    assert subscription.status == 'past_due'
    assert subscription.latest_invoice.status == 'open'
    assert subscription.latest_invoice.billing_reason == 'subscription_cycle'
    assert subscription.latest_invoice.attempt_count >= 1
    failed = await backend.v1.events.list_async(params={'type': 'invoice.payment_failed', 'limit': 100})
    assert subscription.latest_invoice.id in {event.data.object.id for event in failed.data}


async def test_declined_always_invoice_update_is_rejected(backend):
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.basic_monthly, 1)
    failing = await backend.v1.payment_methods.create_async(
        params={'type': 'card', 'card': {'token': 'tok_chargeCustomerFail'}}
    )
    await backend.v1.payment_methods.attach_async(failing.id, params={'customer': customer.id})
    await backend.v1.subscriptions.update_async(subscription.id, params={'default_payment_method': failing.id})
    await backend.advance_clock(clock.id, JAN_1_2027 + 5 * DAY)
    item = subscription['items'].data[0]
    with pytest.raises(stripe.CardError) as raised:
        await backend.v1.subscriptions.update_async(
            subscription.id,
            params={
                'items': [{'id': item.id, 'price': prices.pro_monthly}],
                'proration_behavior': 'always_invoice',
                'payment_behavior': 'error_if_incomplete',
            },
        )
    assert raised.value.code == 'card_declined'
    unchanged = await backend.v1.subscriptions.retrieve_async(subscription.id)
    assert unchanged['items'].data[0].price.id == prices.basic_monthly
    assert unchanged.status == 'active'
    assert unchanged.latest_invoice == subscription.latest_invoice


async def test_scheduled_cancellation_and_its_removal(backend):
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.pro_monthly)
    period_end = subscription['items'].data[0].current_period_end

    scheduled = await backend.v1.subscriptions.update_async(
        subscription.id,
        params={
            'cancel_at_period_end': True,
            'cancellation_details': {'comment': 'Too pricey', 'feedback': 'too_expensive'},
        },
    )
    assert scheduled.cancel_at_period_end is True
    assert scheduled.cancel_at == period_end
    assert scheduled.status == 'active'
    assert scheduled.cancellation_details.comment == 'Too pricey'
    assert scheduled.cancellation_details.feedback == 'too_expensive'

    kept = await backend.v1.subscriptions.update_async(subscription.id, params={'cancel_at_period_end': False})
    assert kept.cancel_at_period_end is False
    assert kept.cancel_at is None

    await backend.v1.subscriptions.update_async(subscription.id, params={'cancel_at_period_end': True})
    await backend.advance_clock(clock.id, period_end + 3600)
    ended = await backend.v1.subscriptions.retrieve_async(subscription.id)
    assert ended.status == 'canceled'
    assert ended.ended_at == period_end
    assert ended.canceled_at is not None
    invoices = await backend.v1.invoices.list_async(params={'subscription': subscription.id})
    assert [invoice.billing_reason for invoice in invoices.data] == ['subscription_create']


async def test_cancel_now_and_list_filters(backend):
    prices = await catalogue(backend)
    _, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.pro_monthly)
    canceled = await backend.v1.subscriptions.cancel_async(
        subscription.id, params={'cancellation_details': {'comment': 'Closing the company'}}
    )
    assert canceled.status == 'canceled'
    assert canceled.ended_at == canceled.canceled_at == JAN_1_2027
    assert canceled.cancellation_details.comment == 'Closing the company'
    live = await backend.v1.subscriptions.list_async(params={'customer': customer.id})
    assert live.data == []
    everything = await backend.v1.subscriptions.list_async(params={'customer': customer.id, 'status': 'all'})
    assert [s.id for s in everything.data] == [subscription.id]


async def test_trial_ends_on_the_clock(backend):
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.pro_monthly, trial_period_days=14)
    assert subscription.status == 'trialing'
    assert (subscription.trial_start, subscription.trial_end) == (JAN_1_2027, JAN_1_2027 + 14 * DAY)
    first = await backend.v1.invoices.retrieve_async(subscription.latest_invoice)
    assert (first.amount_due, first.status) == (0, 'paid')

    await backend.advance_clock(clock.id, JAN_1_2027 + 15 * DAY)
    subscription = await backend.v1.subscriptions.retrieve_async(subscription.id, params={'expand': ['latest_invoice']})
    assert subscription.status == 'active'
    assert subscription['items'].data[0].current_period_start == JAN_1_2027 + 14 * DAY
    assert subscription.latest_invoice.amount_paid == 5000


async def test_invoice_list_paging(backend):
    """Many invoices for one customer page through cleanly, newest first."""
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.pro_monthly)
    item = subscription['items'].data[0]
    for quantity in range(2, 8):
        await backend.v1.subscriptions.update_async(
            subscription.id,
            params={'items': [{'id': item.id, 'quantity': quantity}], 'proration_behavior': 'always_invoice'},
        )
    seen, cursor = [], None
    while True:
        params = {'customer': customer.id, 'limit': 3, **({'starting_after': cursor} if cursor else {})}
        page = await backend.v1.invoices.list_async(params=params)
        seen += page.data
        if not page.has_more:
            break
        cursor = page.data[-1].id
    assert len(seen) == 7
    assert len({invoice.id for invoice in seen}) == 7
    assert seen[-1].billing_reason == 'subscription_create'
    numbers = [invoice.number for invoice in seen]
    assert numbers == sorted(numbers, reverse=True)


async def test_checkout_session_create_retrieve_expire(backend):
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'Shopper'})
    session = await backend.v1.checkout.sessions.create_async(
        params={
            'mode': 'subscription',
            'customer': customer.id,
            'line_items': [{'price': prices.pro_monthly, 'quantity': 4}],
            'success_url': 'https://portico.example/admin?session_id={CHECKOUT_SESSION_ID}',
            'cancel_url': 'https://portico.example/admin/subscriptions',
            'client_reference_id': 'org_1',
            'metadata': {'org': '1'},
            'subscription_data': {'metadata': {'org': '1'}},
            'expand': ['line_items'],
        }
    )
    assert session.id.startswith('cs_test_')
    assert (session.status, session.payment_status, session.mode) == ('open', 'unpaid', 'subscription')
    assert session.url
    assert session.amount_total == 20000
    assert session.currency == 'usd'
    assert session.line_items.data[0].price.id == prices.pro_monthly
    assert session.line_items.data[0].quantity == 4
    assert (session.client_reference_id, session.metadata['org'], session.customer) == ('org_1', '1', customer.id)
    assert session.success_url == 'https://portico.example/admin?session_id={CHECKOUT_SESSION_ID}'
    items = await backend.v1.checkout.sessions.line_items.list_async(session.id)
    assert items.data[0].amount_total == 20000

    payment = await backend.v1.checkout.sessions.create_async(
        params={
            'mode': 'payment',
            'customer': customer.id,
            'line_items': [{'price': prices.token_pack, 'quantity': 3, 'adjustable_quantity': {'enabled': True}}],
            'invoice_creation': {'enabled': True},
            'success_url': 'https://portico.example/ok',
        }
    )
    assert payment.invoice_creation.enabled is True
    assert payment.amount_total == 3000
    setup = await backend.v1.checkout.sessions.create_async(
        params={
            'mode': 'setup',
            'customer': customer.id,
            'currency': 'usd',
            'success_url': 'https://portico.example/ok',
        }
    )
    assert setup.payment_status == 'no_payment_required'

    listed = await backend.v1.checkout.sessions.list_async(params={'customer': customer.id})
    assert {s.id for s in listed.data} == {session.id, payment.id, setup.id}
    expired = await backend.v1.checkout.sessions.expire_async(session.id)
    assert expired.status == 'expired'
    with pytest.raises(stripe.InvalidRequestError):
        await backend.v1.checkout.sessions.expire_async(session.id)


async def test_an_update_without_proration_changes_only_the_next_invoice(backend):
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.pro_monthly, 1)
    await backend.advance_clock(clock.id, JAN_1_2027 + 10 * DAY)
    item = subscription['items'].data[0]
    updated = await backend.v1.subscriptions.update_async(
        subscription.id, params={'items': [{'id': item.id, 'quantity': 3}], 'proration_behavior': 'none'}
    )
    assert updated['items'].data[0].quantity == 3
    assert updated.latest_invoice == subscription.latest_invoice  # nothing invoiced now
    upcoming = await backend.v1.invoices.create_preview_async(params={'subscription': subscription.id})
    assert proration_lines(upcoming) == []
    assert upcoming.amount_due == 3 * 5000

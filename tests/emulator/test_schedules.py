"""Subscription schedules: a change at the period's end (a downgrade), applied on the test clock at the renewal, then
the schedule released; releasing it before keeps the subscription as it is (emulator-only: Stripe's phase changes
happen about an hour after the boundary, on its own timetable)."""

import pytest
import stripe

from .billing_helpers import DAY, JAN_1_2027, catalogue, customer_on_clock, subscribe
from .test_emulator_billing import _Backend

pytestmark = pytest.mark.asyncio

FEB_1, MAR_1 = JAN_1_2027 + 31 * DAY, JAN_1_2027 + 59 * DAY


async def _scheduled_downgrade(backend):
    """Pro ×3 monthly from Jan 1; from Feb 1: Basic ×2 for one period, then released."""
    prices = await catalogue(backend)
    clock, customer, _ = await customer_on_clock(backend)
    subscription = await subscribe(backend, customer, prices.pro_monthly, quantity=3)
    schedule = await backend.v1.subscription_schedules.create_async(params={'from_subscription': subscription.id})
    assert (schedule.status, schedule.subscription, schedule.end_behavior) == ('active', subscription.id, 'release')
    assert (schedule.current_phase.start_date, schedule.current_phase.end_date) == (JAN_1_2027, FEB_1)
    schedule = await backend.v1.subscription_schedules.update_async(schedule.id, params={'phases': [
        {'items': [{'price': prices.pro_monthly, 'quantity': 3}], 'start_date': JAN_1_2027, 'end_date': FEB_1},
        {'items': [{'price': prices.basic_monthly, 'quantity': 2}], 'iterations': 1},
    ]})  # fmt: skip
    assert [(phase.start_date, phase.end_date) for phase in schedule.phases] == [(JAN_1_2027, FEB_1), (FEB_1, MAR_1)]
    return prices, clock, subscription, schedule


async def test_a_scheduled_downgrade_applies_at_the_renewal_and_the_schedule_is_released(emulator_client):
    backend = _Backend(emulator_client)
    prices, clock, subscription, schedule = await _scheduled_downgrade(backend)
    assert (await backend.v1.subscriptions.retrieve_async(subscription.id)).schedule == schedule.id
    await backend.advance_clock(clock.id, FEB_1 - DAY)
    unchanged = await backend.v1.subscriptions.retrieve_async(subscription.id)
    assert (unchanged['items'].data[0].price.id, unchanged['items'].data[0].quantity) == (prices.pro_monthly, 3)

    await backend.advance_clock(clock.id, FEB_1 + 60)
    renewed = await backend.v1.subscriptions.retrieve_async(subscription.id, params={'expand': ['latest_invoice']})
    item = renewed['items'].data[0]
    assert (item.price.id, item.quantity, item.current_period_start) == (prices.basic_monthly, 2, FEB_1)
    assert renewed.latest_invoice.amount_paid == 2 * 3000  # the new phase's price, no proration
    current = await backend.v1.subscription_schedules.retrieve_async(schedule.id)
    assert (current.current_phase.start_date, current.status) == (FEB_1, 'active')

    await backend.advance_clock(clock.id, MAR_1 + 60)  # the last phase ended: released, and it renews as it is
    released = await backend.v1.subscription_schedules.retrieve_async(schedule.id)
    assert (released.status, released.released_subscription, released.released_at) == ('released', subscription.id,
                                                                                        MAR_1)  # fmt: skip
    after = await backend.v1.subscriptions.retrieve_async(subscription.id)
    assert (after.schedule, after.status, after['items'].data[0].quantity) == (None, 'active', 2)


async def test_releasing_the_schedule_before_the_boundary_keeps_the_subscription(emulator_client):
    backend = _Backend(emulator_client)
    prices, clock, subscription, schedule = await _scheduled_downgrade(backend)
    released = await backend.v1.subscription_schedules.release_async(schedule.id)
    assert (released.status, released.subscription) == ('released', None)
    await backend.advance_clock(clock.id, FEB_1 + 60)
    renewed = await backend.v1.subscriptions.retrieve_async(subscription.id)
    assert (renewed.schedule, renewed['items'].data[0].price.id, renewed['items'].data[0].quantity) == (
        None, prices.pro_monthly, 3)  # fmt: skip
    with pytest.raises(stripe.InvalidRequestError, match='released'):
        await backend.v1.subscription_schedules.release_async(schedule.id)


async def test_what_a_schedule_refuses(emulator_client):
    backend = _Backend(emulator_client)
    prices, _, subscription, schedule = await _scheduled_downgrade(backend)
    with pytest.raises(stripe.InvalidRequestError, match='already has a schedule'):
        await backend.v1.subscription_schedules.create_async(params={'from_subscription': subscription.id})
    with pytest.raises(stripe.InvalidRequestError, match="billing period's end"):
        await backend.v1.subscription_schedules.update_async(schedule.id, params={'phases': [
            {'items': [{'price': prices.pro_monthly, 'quantity': 3}], 'end_date': FEB_1 - DAY},
            {'items': [{'price': prices.basic_monthly, 'quantity': 2}]},
        ]})  # fmt: skip
    with pytest.raises(stripe.InvalidRequestError, match='current phase'):
        await backend.v1.subscription_schedules.update_async(schedule.id, params={'phases': [
            {'items': [{'price': prices.basic_monthly}], 'start_date': FEB_1},
        ]})  # fmt: skip
    await backend.v1.subscriptions.cancel_async(subscription.id)
    assert (await backend.v1.subscription_schedules.retrieve_async(schedule.id)).status == 'canceled'

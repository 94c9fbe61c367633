"""Changes at the end of the current period through the portal's services, a subscription schedule in the emulator,
and its test clock: nothing is charged now, the section knows what comes and when, the renewal applies it, and
"Cancel scheduled change" keeps the subscription as it is."""

import pytest

from db.models import SubscriptionMirror
from services.container import Services
from services.errors import PermissionDenied, ValidationFailed
from tests.billing_helpers import clocked_organization
from tests.helpers import create_member, session_of
from tests.test_three_d_secure import deliver_all


async def _clocked(services: Services, emulator_app):
    """Professional, 5 seats, monthly, for a customer on a test clock; returns (admin, clock id)."""
    return await clocked_organization(services, emulator_app, plan='professional', seats=5)


async def test_a_downgrade_at_the_period_end_is_shown_then_applied_by_the_renewal(services: Services,
                                                                                   emulator_app) -> None:  # fmt: skip
    admin, clock_id = await _clocked(services, emulator_app)
    session = await session_of(admin)
    before = await SubscriptionMirror.get(organization_id=admin.organization_id)
    preview = await services.billing.schedules.preview(session=session, plan_id='starter', interval='month', seats=3)
    assert preview.on == before.current_period_end and preview.amount == 3 * 600
    assert preview.lines[0] == 'Nothing is charged or credited today.'
    invoices_before = len((await services.billing.invoices.page(session=session)).rows)

    scheduled = await services.billing.schedules.schedule(session=session, plan_id='starter', interval='month', seats=3)
    assert (scheduled.plan_id, scheduled.seats) == ('professional', 5)  # nothing changes now
    assert (scheduled.scheduled_plan_id, scheduled.scheduled_interval, scheduled.scheduled_seats) == (
        'starter',
        'month',
        3,
    )
    assert scheduled.scheduled_at == before.current_period_end and scheduled.schedule_id
    assert len((await services.billing.invoices.page(session=session)).rows) == invoices_before

    renewal = int(before.current_period_end.timestamp())
    await services.billing.gateway.call('test_helpers.test_clocks', 'advance', clock_id, frozen_time=renewal + 60)
    await deliver_all(services)
    after = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert (after.plan_id, after.seats, after.status, after.scheduled_at) == ('starter', 3, 'active', None)
    [latest] = (await services.billing.invoices.page(session=session)).rows[:1]
    assert latest.total == 3 * 600  # the renewal at the new price


async def test_cancel_scheduled_change_keeps_the_subscription(services: Services, emulator_app) -> None:
    admin, clock_id = await _clocked(services, emulator_app)
    session = await session_of(admin)
    await services.billing.schedules.schedule(session=session, plan_id='professional', interval='month', seats=4)
    kept = await services.billing.schedules.cancel(session=session)
    assert (kept.seats, kept.schedule_id, kept.scheduled_at) == (5, '', None)
    with pytest.raises(PermissionDenied, match='No change is scheduled'):
        await services.billing.schedules.cancel(session=session)
    renewal = int(kept.current_period_end.timestamp())
    await services.billing.gateway.call('test_helpers.test_clocks', 'advance', clock_id, frozen_time=renewal + 60)
    await deliver_all(services)
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).seats == 5


async def test_a_seat_decrease_below_the_users_enabled_is_refused_when_scheduling(services: Services,
                                                                                   emulator_app) -> None:  # fmt: skip
    admin, _ = await _clocked(services, emulator_app)
    for number in range(3):
        await create_member(admin, name=f'Member {number}')  # 4 users enabled
    session = await session_of(admin)
    with pytest.raises(ValidationFailed) as refused:
        await services.billing.schedules.schedule(session=session, plan_id='professional', interval='month', seats=3)
    assert refused.value.errors == {'seats': 'Choose at least 4 seats: 4 users are enabled.'}
    assert not (await SubscriptionMirror.get(organization_id=admin.organization_id)).schedule_id


async def test_a_scheduled_change_blocks_pausing_and_a_change_now_until_cancelled(services: Services,
                                                                                   emulator_app) -> None:  # fmt: skip
    admin, _ = await _clocked(services, emulator_app)
    session = await session_of(admin)
    await services.billing.schedules.schedule(session=session, plan_id='starter', interval='month', seats=3)
    with pytest.raises(PermissionDenied, match='scheduled change'):
        await services.billing.pausing.pause(session=session, periods=1)
    with pytest.raises(PermissionDenied, match='scheduled change'):
        await services.billing.subscriptions.apply_change(session=session, plan_id='professional', interval='month',
                                                          seats=6)  # fmt: skip
    member = await create_member(admin)
    with pytest.raises(PermissionDenied):
        await services.billing.schedules.cancel(session=await session_of(member))

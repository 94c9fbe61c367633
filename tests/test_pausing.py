"""Pause and resume through the portal's services, the real SDK and the emulator's test clock: the organization is
not live while paused, admins keep the portal and its seats, and a pause for N periods ends by itself."""

from datetime import timedelta

import pytest

from db.models import SubscriptionMirror
from services.billing import pausing as pausing_module
from services.billing.pausing import resume_date
from services.container import Services
from services.errors import PermissionDenied, ValidationFailed
from tests.billing_helpers import clocked_organization
from tests.helpers import create_member, session_of


async def _clocked(services: Services, emulator_app):
    return await clocked_organization(services, emulator_app, plan='starter', seats=4)


async def test_a_pause_for_one_period_is_not_live_keeps_the_seats_and_ends_by_itself(services: Services,
                                                                                      emulator_app,
                                                                                      monkeypatch) -> None:  # fmt: skip
    admin, clock_id = await _clocked(services, emulator_app)
    session = await session_of(admin)
    before = await SubscriptionMirror.get(organization_id=admin.organization_id)
    paused = await services.billing.pausing.pause(session=session, periods=1)
    assert paused.status == 'paused'
    started = paused.synced_at  # about the pause's own time on the test clock, which has not moved
    assert abs((paused.pause_resumes_at - resume_date(started, 'month', 1)).total_seconds()) < 120
    entitlements = await services.entitlements.of_id(admin.organization_id)
    assert (entitlements.status, entitlements.is_live, entitlements.seat_limit) == ('paused', False, 4)
    overview = await services.billing.subscriptions.overview(session=session)
    assert overview.subscribed and overview.seat_limit == 4  # the admins keep the portal and the seats

    assert await services.billing.pausing.resume_due() == 0  # not yet
    monkeypatch.setattr(pausing_module, 'now', lambda: paused.pause_resumes_at + timedelta(seconds=1))
    assert await services.billing.pausing.resume_due() == 1
    resumed = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert (resumed.status, resumed.pause_resumes_at) == ('active', None)
    assert resumed.current_period_end > before.current_period_end - timedelta(days=1)
    subscription = await services.billing.gateway.call('subscriptions', 'retrieve', resumed.stripe_subscription_id)
    assert 'portico_resumes_at' not in subscription['metadata']
    assert await services.billing.pausing.resume_due() == 0  # once


async def test_pause_until_resumed_and_an_admin_resumes_it(services: Services, emulator_app) -> None:
    admin, _ = await _clocked(services, emulator_app)
    session = await session_of(admin)
    paused = await services.billing.pausing.pause(session=session, periods=None)
    assert (paused.status, paused.pause_resumes_at) == ('paused', None)
    with pytest.raises(PermissionDenied, match='paused'):
        await services.billing.subscriptions.add_seats(session=session, seats_to_add=1, from_seats=4)
    resumed = await services.billing.pausing.resume(session=session)
    assert resumed.status == 'active'
    with pytest.raises(PermissionDenied, match='not paused'):
        await services.billing.pausing.resume(session=session)


async def test_what_pausing_refuses(services: Services, emulator_app) -> None:
    admin, _ = await _clocked(services, emulator_app)
    session = await session_of(admin)
    with pytest.raises(ValidationFailed):
        await services.billing.pausing.pause(session=session, periods=4)
    member = await create_member(admin)
    with pytest.raises(PermissionDenied):
        await services.billing.pausing.pause(session=await session_of(member), periods=1)
    await services.billing.subscriptions.cancel(session=session)
    with pytest.raises(PermissionDenied, match='scheduled cancellation'):
        await services.billing.pausing.pause(session=session, periods=1)
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).status == 'active'


def test_the_resume_date_is_n_billing_periods_later_on_the_same_day_or_the_months_last() -> None:
    from datetime import UTC, datetime

    jan_31 = datetime(2027, 1, 31, 12, tzinfo=UTC)
    assert resume_date(jan_31, 'month', 1) == datetime(2027, 2, 28, 12, tzinfo=UTC)
    assert resume_date(jan_31, 'month', 3) == datetime(2027, 4, 30, 12, tzinfo=UTC)
    assert resume_date(jan_31, 'year', 2) == datetime(2029, 1, 31, 12, tzinfo=UTC)
    assert resume_date(jan_31, 'quarter', 1) == datetime(2027, 4, 30, 12, tzinfo=UTC)
    assert resume_date(jan_31, 'month', None) is None

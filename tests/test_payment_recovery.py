"""A failed renewal, through the real SDK and the emulator's test clock: the owed invoice in the mirror (the banner's
facts), one mail per admin per failed invoice, the grace period, "Pay now", and the end after the last retry."""

import asyncio
import time
from datetime import timedelta

import pytest

from db.models import BillingAccount, OutboxMail, Role, SubscriptionMirror, User
from services import entitlements as entitlements_module
from services.billing.gateway import PaymentFailed
from services.container import Services
from services.errors import PermissionDenied
from tests.billing_helpers import clocked_organization, deliver, events_of
from tests.helpers import create_member, session_of

DAY = 86_400


async def _clocked_subscription(services: Services, emulator_app):
    """An organization subscribed on a test clock; its card then fails. Returns (admin, clock id, start time)."""
    gateway = services.billing.gateway
    start = int(time.time())
    admin, clock_id = await clocked_organization(services, emulator_app, plan='starter', seats=2)
    customer = {'id': (await BillingAccount.get(organization_id=admin.organization_id)).stripe_customer_id}
    failing = await gateway.call('payment_methods', 'create', type='card', card={'token': 'tok_chargeCustomerFail'})
    await gateway.call('payment_methods', 'attach', failing['id'], customer=customer['id'])
    await services.billing.payment_methods.make_default(session=await session_of(admin), card_id=failing['id'])
    return admin, clock_id, start


async def _advance(services: Services, clock_id: str, to: int) -> None:
    """Advance the clock, then deliver every event Portico has not processed yet, in order (as Stripe would)."""
    await services.billing.gateway.call('test_helpers.test_clocks', 'advance', clock_id, frozen_time=to)
    for kind in ('customer.subscription.updated', 'invoice.payment_failed', 'invoice.paid',
                 'customer.subscription.deleted'):  # fmt: skip
        for event in await events_of(services, kind):
            assert (await deliver(services, event)).status == 200


async def _mails(subject: str, expected: int) -> list[OutboxMail]:
    for _ in range(50):  # the mails go out in the background, after the webhook's commit
        mails = await OutboxMail.filter(subject__contains=subject)
        if len(mails) >= expected:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)  # and no more come
    return await OutboxMail.filter(subject__contains=subject)


async def test_a_failed_renewal_shows_what_is_owed_and_mails_each_admin_once(services: Services, emulator_app) -> None:
    admin, clock_id, start = await _clocked_subscription(services, emulator_app)
    second = await create_member(admin, role=Role.ADMIN, name='Second Admin')
    await create_member(admin, name='Just A Member')
    gone = await create_member(admin, role=Role.ADMIN, name='Gone Admin')
    await User.filter(id=gone.id).update(is_enabled=False)  # a disabled admin is not mailed
    renewal = (await SubscriptionMirror.get(organization_id=admin.organization_id)).current_period_end
    await _advance(services, clock_id, int(renewal.timestamp()) + 60)

    mirror = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert mirror.status == 'past_due'
    assert (mirror.open_invoice_amount, mirror.open_invoice_currency) == (2 * 600, 'usd')
    assert mirror.payment_error == 'Your card was declined.'
    assert mirror.past_due_since == renewal
    assert mirror.next_payment_attempt == renewal + timedelta(days=3)
    overview = await services.billing.subscriptions.overview(session=await session_of(admin))
    assert overview.owes and overview.grace_ends_at == renewal + timedelta(days=7)

    mails = await _mails('failed', 2)
    assert sorted(mail.recipient for mail in mails) == sorted([admin.email, second.email])
    assert mails[0].subject == 'The payment of $12.00 for Acme Corp failed'
    assert 'Pay now:' in mails[0].text  # the outbox withholds links; the browser test reads the real mail's
    assert 'Your card was declined.' in mails[0].text

    # The same event again, and the first retry failing too: the same invoice mails nobody again.
    for event in await events_of(services, 'invoice.payment_failed'):
        assert (await deliver(services, event)).message == 'duplicate, ignored'
    await _advance(services, clock_id, int(renewal.timestamp()) + 3 * DAY + 60)
    mirror = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert mirror.next_payment_attempt == renewal + timedelta(days=5)
    assert mirror.past_due_since == renewal  # since the first failure, not the latest
    assert len(await _mails('failed', 3)) == 2


async def test_past_due_is_live_for_the_grace_days_then_not(services: Services, emulator_app, monkeypatch) -> None:
    admin, clock_id, _ = await _clocked_subscription(services, emulator_app)
    renewal = (await SubscriptionMirror.get(organization_id=admin.organization_id)).current_period_end
    await _advance(services, clock_id, int(renewal.timestamp()) + 60)
    reader = services.entitlements
    found = await reader.of_id(admin.organization_id)
    assert (found.status, found.past_due_since, found.grace_ends_at) == ('past_due', renewal,
                                                                         renewal + timedelta(days=7))  # fmt: skip
    monkeypatch.setattr(entitlements_module, 'now', lambda: renewal + timedelta(days=6, hours=23))
    assert (await reader.of_id(admin.organization_id)).is_live
    assert (await reader.liveness(admin.organization_id)).is_live
    monkeypatch.setattr(entitlements_module, 'now', lambda: renewal + timedelta(days=7, seconds=1))
    assert not (await reader.of_id(admin.organization_id)).is_live
    assert not (await reader.liveness(admin.organization_id)).is_live


async def test_pay_now_is_refused_with_the_failing_card_and_pays_with_a_working_one(services: Services,
                                                                                     emulator_app) -> None:  # fmt: skip
    admin, clock_id, _ = await _clocked_subscription(services, emulator_app)
    renewal = (await SubscriptionMirror.get(organization_id=admin.organization_id)).current_period_end
    await _advance(services, clock_id, int(renewal.timestamp()) + 60)
    session = await session_of(admin)
    with pytest.raises(PaymentFailed, match='declined'):
        await services.billing.recovery.pay_now(session=session)
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).status == 'past_due'

    member = await create_member(admin)
    with pytest.raises(PermissionDenied):
        await services.billing.recovery.pay_now(session=await session_of(member))

    gateway = services.billing.gateway
    account = await BillingAccount.get(organization_id=admin.organization_id)
    card = await gateway.call('payment_methods', 'create', type='card', card={'token': 'tok_visa'})
    await gateway.call('payment_methods', 'attach', card['id'], customer=account.stripe_customer_id)
    await services.billing.payment_methods.make_default(session=session, card_id=card['id'])
    assert await services.billing.recovery.pay_now(session=session) == '$12.00'
    mirror = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert (mirror.status, mirror.open_invoice_id, mirror.past_due_since) == ('active', '', None)
    with pytest.raises(PermissionDenied, match='Nothing is owed'):
        await services.billing.recovery.pay_now(session=session)  # a second click after the first paid
    # invoice.paid arriving afterwards changes nothing, and the next renewal charges the working card.
    await _advance(services, clock_id, int(renewal.timestamp()) + 10 * DAY)
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).status == 'active'


async def test_after_the_last_retry_the_subscription_ends_and_the_banner_goes(services: Services,
                                                                               emulator_app) -> None:  # fmt: skip
    admin, clock_id, _ = await _clocked_subscription(services, emulator_app)
    renewal = (await SubscriptionMirror.get(organization_id=admin.organization_id)).current_period_end
    await _advance(services, clock_id, int(renewal.timestamp()) + 8 * DAY)
    mirror = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert (mirror.status, mirror.open_invoice_id) == ('canceled', '')  # PAST_DUE_POLICY's default: cancel
    overview = await services.billing.subscriptions.overview(session=await session_of(admin))
    assert not overview.owes and not overview.subscribed

"""Webhooks to the product: queued in the change's transaction, signed as Standard Webhooks specifies (verified by
its library), delivered in order per organization, retried with the same webhook-id, told once per change."""

import asyncio
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from db.models import OutboxMail, ProductWebhook, Role, User
from services import moments, product_webhooks
from services.container import Services
from services.errors import ValidationFailed
from services.forms import UserForm
from tests.billing_helpers import bought
from tests.helpers import create_admin, create_member, session_of
from tests.product_receiver import Receiver


@pytest.fixture
def receiver():
    product = Receiver().start()
    yield product
    product.stop()


@pytest.fixture
async def wired(db, emulator_app, receiver) -> Services:
    settings = replace(db, product_webhook_url=receiver.url, product_webhook_secret=receiver.secret)
    services = Services.build(settings, emulator_app=emulator_app)
    await services.billing.prices.sync()
    return services


async def deliver(services: Services) -> int:
    async with httpx.AsyncClient(timeout=5) as client:
        return await services.product.deliver_due(client)


async def test_user_changes_reach_the_product_signed_and_in_order(wired: Services, receiver: Receiver) -> None:
    admin = await create_admin('Hooks Org')
    me = await session_of(admin)
    added = (await wired.users.add(session=me, form=UserForm('Uma User', 'uma@example.com', 'member'))).user
    await wired.users.edit(session=me, user_id=added.id, form=UserForm('Uma Renamed', 'uma@example.com', 'member'))
    await wired.users.set_enabled(session=me, user_id=added.id, enabled=False)
    await wired.users.set_enabled(session=me, user_id=added.id, enabled=True)
    await wired.users.delete(session=me, user_id=added.id)
    await wired.organizations.update(session=me, organization_id=admin.organization_id, values={'name': 'Hooks B.V.'})
    assert await deliver(wired) == 6
    assert receiver.types() == ['user.created', 'user.updated', 'user.disabled', 'user.enabled', 'user.deleted',
                                'organization.updated']  # fmt: skip
    assert receiver.refused == []  # every signature verified with the Standard Webhooks library
    first = receiver.deliveries[0].event
    assert first['data'] == {'object': 'user', 'id': added.id, 'organization': admin.organization_id,
                             'name': 'Uma User', 'email': 'uma@example.com', 'role': 'member', 'is_enabled': True,
                             'last_login': None}  # fmt: skip
    assert receiver.deliveries[-1].event['data']['name'] == 'Hooks B.V.'
    assert len({delivery.webhook_id for delivery in receiver.deliveries}) == 6
    assert await deliver(wired) == 0  # nothing twice


async def test_a_change_that_rolls_back_queues_no_event(wired: Services, monkeypatch) -> None:
    admin = await create_admin()

    async def broken(*args, **kwargs):
        raise RuntimeError('the database went away')

    monkeypatch.setattr('services.users.issue_password_token', broken)  # the last step of the add's transaction
    with pytest.raises(RuntimeError):
        await wired.users.add(session=await session_of(admin), form=UserForm('Gone', 'gone@example.com', 'member'))
    assert not await User.exists(email='gone@example.com') and not await ProductWebhook.exists()
    with pytest.raises(ValidationFailed):
        await wired.users.add(session=await session_of(admin), form=UserForm('', 'bad', 'member'))
    assert not await ProductWebhook.exists()


async def test_a_failing_product_gets_retries_with_the_same_webhook_id_and_the_order_holds(
    wired: Services, receiver: Receiver
) -> None:
    admin = await create_admin()
    me = await session_of(admin)
    for name in ('One', 'Two'):
        await wired.users.add(session=me, form=UserForm(name, f'{name.lower()}@example.com', 'member'))
    receiver.fail_next = 2
    assert await deliver(wired) == 0  # down: the first event fails, and the second waits behind it
    queued = await ProductWebhook.filter(delivered_at=None).order_by('id')
    assert [delivery.attempts for delivery in queued] == [1, 0] and 'HTTP 500' in queued[0].last_error
    retry_at = queued[0].next_attempt_at
    assert timedelta(seconds=1) <= retry_at - moments.now() <= timedelta(seconds=3)
    await ProductWebhook.filter(id=queued[0].id).update(next_attempt_at=moments.now())
    assert await deliver(wired) == 0  # down again (the second 500): back-off grows
    again = await ProductWebhook.get(id=queued[0].id)
    assert again.attempts == 2 and again.next_attempt_at - moments.now() > timedelta(seconds=3)
    await ProductWebhook.filter(id=queued[0].id).update(next_attempt_at=moments.now())
    assert await deliver(wired) == 2
    assert [d.event['data']['name'] for d in receiver.deliveries] == ['One', 'Two']
    status = await product_webhooks.status()
    assert (status.pending, status.delivered) == (0, 2)
    resent = await product_webhooks.resend(queued[0].id)
    assert await deliver(wired) == 1
    assert receiver.deliveries[-1].webhook_id == resent.message_id == receiver.deliveries[0].webhook_id


async def test_a_delivery_failing_for_three_days_is_given_up_and_logged(wired: Services, receiver, caplog) -> None:
    admin = await create_admin()
    await wired.users.add(session=await session_of(admin), form=UserForm('Late', 'late@example.com', 'member'))
    await ProductWebhook.all().update(created_at=moments.now() - timedelta(days=3, minutes=1))
    receiver.fail_next = 1
    await deliver(wired)
    [given_up] = await ProductWebhook.all()
    assert given_up.failed_at is not None and 'given up' in caplog.text
    assert (await product_webhooks.status()).failed == 1


async def test_entitlement_changes_and_the_trials_end_are_told_once(wired: Services, emulator_app, receiver,
                                                                      monkeypatch) -> None:  # fmt: skip
    paying, session_id = await bought(wired, emulator_app, plan='starter', seats=1)
    await wired.billing.checkouts.fulfill(session_id)
    await wired.billing.checkouts.fulfill(session_id)  # the return page too: nothing new to tell
    trial = await create_admin('Trial Org')
    later = moments.now() + timedelta(days=15)
    monkeypatch.setattr('services.entitlements.now', lambda: later)
    assert await wired.entitlements.sweep_trials() == 1
    assert await wired.entitlements.sweep_trials() == 0  # told once
    await deliver(wired)
    told = [(d.event['data']['organization_id'], d.event['data']['status'], d.event['data']['is_live'])
            for d in receiver.deliveries if d.event['type'] == 'subscription.updated']  # fmt: skip
    assert told == [(paying.organization_id, 'active', True), (trial.organization_id, 'trial_ended', False)]


async def test_low_balance_alerts_once_per_crossing_and_a_top_up_rearms_it(wired: Services, emulator_app,
                                                                             receiver) -> None:  # fmt: skip
    admin, session_id = await bought(wired, emulator_app, plan='flexible', seats=2)
    await wired.billing.checkouts.fulfill(session_id)
    second = await create_member(admin, role=Role.ADMIN, name='Second Admin')
    await create_member(admin, name='Just A Member')
    org = admin.organization_id
    await wired.usage.grant(organization_id=org, amount=100, idempotency_key='start')
    await wired.usage.set_alert(session=await session_of(admin), threshold=50)
    for n, amount in enumerate((40, 20, 10)):  # 60 (above), 40 (crosses), 30 (still below: no second alert)
        assert (await wired.usage.consume(organization_id=org, amount=amount, idempotency_key=f'u{n}')).status == 200
    await wired.usage.grant(organization_id=org, amount=30, idempotency_key='top-up')  # 60: armed again
    assert (await wired.usage.consume(organization_id=org, amount=20, idempotency_key='u3')).status == 200  # 40
    await asyncio.sleep(0.2)  # the mails are sent in the background
    await deliver(wired)
    lows = [d.event['data'] for d in receiver.deliveries if d.event['type'] == 'tokens.low_balance']
    assert lows == [{'organization_id': org, 'balance': 40, 'threshold': 50}] * 2
    mails = await OutboxMail.filter(subject__contains='tokens left')  # no SMTP here: the outbox notes each mail
    assert len(mails) == 4 and {mail.recipient for mail in mails} == {admin.email, second.email}


async def test_the_operator_sees_the_queue(wired: Services) -> None:
    admin = await create_admin()
    await wired.users.add(session=await session_of(admin), form=UserForm('Q', 'q@example.com', 'member'))
    status = await product_webhooks.status()
    assert (status.pending, status.failed, status.delivered) == (1, 0, 0)
    with pytest.raises(ValidationFailed):
        await product_webhooks.resend(999999)


def test_the_webhook_destination_and_secret_come_from_the_environment(tmp_path) -> None:
    from services.settings import Settings, SettingsError

    settings = Settings.from_env({'PRODUCT_WEBHOOK_URL': 'https://product.example.com/hooks',
                                  'PRODUCT_WEBHOOK_SECRET': Receiver().secret})  # fmt: skip
    assert settings.product_webhook_url == 'https://product.example.com/hooks'
    for env in ({'PRODUCT_WEBHOOK_URL': 'ftp://x'}, {'PRODUCT_WEBHOOK_SECRET': 'whsec_short'},
                {'PRODUCT_WEBHOOK_SECRET': 'not base64!'}):  # fmt: skip
        with pytest.raises(SettingsError):
            Settings.from_env(env)
    made = Settings.from_env({'DATA_DIR': str(tmp_path), 'STORAGE_SECRET': 'x'}).prepare_data_dir()
    secret_file = tmp_path / 'product-webhook-secret'
    assert made.product_webhook_secret == secret_file.read_text().strip() and made.product_webhook_secret.startswith(
        'whsec_'
    )
    assert oct(secret_file.stat().st_mode & 0o777) == '0o600'
    assert Settings.from_env({'DATA_DIR': str(tmp_path)}).prepare_data_dir().product_webhook_secret == \
        made.product_webhook_secret  # fmt: skip

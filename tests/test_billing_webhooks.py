"""The webhook mirror: signatures, repeats, order, failures midway, and one fulfilment from two arrivals.

Events are the emulator's own, signed the way Stripe signs them, and handed to POST /stripe/webhook's service.
"""

import time
from urllib.parse import urlsplit

import pytest

from db.models import BillingAccount, CheckoutFulfillment, StripeEvent, SubscriptionMirror
from services.billing import webhooks
from services.billing.mirror import seat_limit
from services.container import Services
from services.events import billing_changed
from tests.billing_helpers import bought, deliver, events_of, pay, signed
from tests.helpers import create_admin, session_of


async def test_every_event_delivered_twice_is_handled_once(services: Services, emulator_app) -> None:
    admin, _ = await bought(services, emulator_app)
    kinds = ['checkout.session.completed', 'customer.subscription.created', 'invoice.paid']
    for kind in kinds:
        [event] = await events_of(services, kind)
        assert (await deliver(services, event)).message == 'ok'
        assert (await deliver(services, event)).message == 'duplicate, ignored'
    assert await StripeEvent.filter(processed_at__not_isnull=True).count() == len(kinds)
    assert await CheckoutFulfillment.filter(organization_id=admin.organization_id).count() == 1
    mirror = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert (mirror.plan_id, mirror.interval, mirror.status, mirror.seats) == ('flexible', 'month', 'active', 2)


async def test_updated_before_created_still_ends_with_stripes_latest_state(services: Services, emulator_app) -> None:
    admin, _ = await bought(services, emulator_app, seats=2)
    [created] = await events_of(services, 'customer.subscription.created')
    subscription = await services.billing.gateway.call('subscriptions', 'retrieve', created['data']['object']['id'])
    item = subscription['items']['data'][0]['id']
    await services.billing.gateway.call(
        'subscriptions', 'update', subscription['id'], items=[{'id': item, 'quantity': 4}],
        proration_behavior='none',
    )  # fmt: skip
    updated = (await events_of(services, 'customer.subscription.updated'))[-1]
    assert (await deliver(services, updated)).status == 200
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).seats == 4
    assert (await deliver(services, created)).status == 200  # late and stale: the handler re-fetches
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).seats == 4


async def test_a_bad_signature_is_refused_and_logged(services: Services, emulator_app, caplog) -> None:
    await bought(services, emulator_app)
    [event] = await events_of(services, 'customer.subscription.created')
    payload, header = signed(services, event)
    tampered = payload.replace(b'"active"', b'"canceled"')
    assert (await webhooks.receive(services.billing, tampered, header)).status == 400
    assert (await webhooks.receive(services.billing, payload, None)).status == 400
    forged = header.split(',v1=')[0] + ',v1=' + '0' * 64
    assert (await webhooks.receive(services.billing, payload, forged)).status == 400
    assert not await StripeEvent.exists()
    assert any('bad signature' in record.getMessage() for record in caplog.records)


async def test_a_stale_timestamp_is_refused(services: Services, emulator_app) -> None:
    await bought(services, emulator_app)
    [event] = await events_of(services, 'customer.subscription.created')
    result = await deliver(services, event, timestamp=int(time.time()) - 600)
    assert result.status == 400
    assert not await StripeEvent.exists()


async def test_unknown_event_types_are_acknowledged(services: Services) -> None:
    event = {'id': 'evt_unknown_1', 'object': 'event', 'type': 'radar.early_fraud_warning.created',
             'data': {'object': {'id': 'issfr_1'}}}  # fmt: skip
    result = await deliver(services, event)
    assert (result.status, result.message) == (200, 'ignored: no handler for this type')


async def test_a_handler_failing_midway_leaves_nothing_then_succeeds_on_retry(
    services: Services, emulator_app, monkeypatch
) -> None:
    admin, _ = await bought(services, emulator_app)
    [completed] = await events_of(services, 'checkout.session.completed')
    from services import audit

    original = audit.record_system

    async def fail_after_a_write(**event):  # the fulfilment's last write: the revision has moved on before it
        await original(**event)
        raise RuntimeError('the database went away')

    monkeypatch.setattr(audit, 'record_system', fail_after_a_write)
    assert (await deliver(services, completed)).status == 500
    assert not await SubscriptionMirror.exists(organization_id=admin.organization_id)
    assert not await CheckoutFulfillment.exists()
    assert (await BillingAccount.get(organization_id=admin.organization_id)).revision == 0
    assert (await StripeEvent.get(id=completed['id'])).processed_at is None

    monkeypatch.setattr(audit, 'record_system', original)
    assert (await deliver(services, completed)).status == 200  # Stripe's retry
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).status == 'active'
    assert (await BillingAccount.get(organization_id=admin.organization_id)).revision == 1
    assert await CheckoutFulfillment.filter(organization_id=admin.organization_id).count() == 1


async def test_the_return_page_then_the_webhook_fulfil_once(services: Services, emulator_app) -> None:
    admin, session_id = await bought(services, emulator_app)
    published: list[int] = []
    services.events.subscribe(billing_changed(admin.organization_id), lambda _: published.append(1))
    assert await services.billing.checkouts.fulfill(session_id, organization_id=admin.organization_id) == 'complete'
    [completed] = await events_of(services, 'checkout.session.completed')
    assert (await deliver(services, completed)).status == 200
    assert await services.billing.checkouts.fulfill(session_id, organization_id=admin.organization_id) == 'complete'
    assert await CheckoutFulfillment.filter(session_id=session_id).count() == 1
    assert (await BillingAccount.get(organization_id=admin.organization_id)).revision == 1  # effects ran once
    assert published  # open pages were told


async def test_the_return_page_refuses_another_organizations_session(services: Services, emulator_app) -> None:
    _, session_id = await bought(services, emulator_app)
    stranger = await create_admin('Stranger Org')
    with pytest.raises(Exception, match='another organization'):
        await services.billing.checkouts.fulfill(session_id, organization_id=stranger.organization_id)
    assert not await SubscriptionMirror.exists(organization_id=stranger.organization_id)


async def test_a_declined_card_creates_nothing(services: Services, emulator_app) -> None:
    admin = await create_admin()
    url = await services.billing.checkouts.start_subscription(
        session=await session_of(admin), plan_id='starter', interval='month', seats=1
    )
    response = await pay(emulator_app, url, card='4000 0000 0000 0002')
    assert response.status_code == 402 and 'Your card was declined.' in response.text
    assert (await services.billing.gateway.call('subscriptions', 'list', limit=10))['data'] == []
    session_id = urlsplit(url).path.rsplit('/', 1)[1]
    assert await services.billing.checkouts.fulfill(session_id) == 'open'
    assert not await SubscriptionMirror.exists()


async def test_a_double_click_on_proceed_makes_one_checkout_session(services: Services) -> None:
    admin = await create_admin()
    first = await services.billing.checkouts.start_subscription(
        session=await session_of(admin), plan_id='flexible', interval='year', seats=5
    )
    second = await services.billing.checkouts.start_subscription(
        session=await session_of(admin), plan_id='flexible', interval='year', seats=5
    )
    assert first == second
    sessions = await services.billing.gateway.call('checkout.sessions', 'list', limit=10)
    assert len(sessions['data']) == 1
    customers = await services.billing.gateway.call('customers', 'list', limit=10)
    assert len(customers['data']) == 1


async def test_seats_below_the_enabled_users_or_outside_the_plan_are_refused(services: Services) -> None:
    from services.errors import ValidationFailed
    from tests.helpers import create_member

    admin = await create_admin()
    await create_member(admin)
    with pytest.raises(ValidationFailed, match='at least 2 seats'):
        await services.billing.checkouts.start_subscription(
            session=await session_of(admin), plan_id='starter', interval='month', seats=1
        )
    with pytest.raises(ValidationFailed, match='at most 10 seats'):
        await services.billing.checkouts.start_subscription(
            session=await session_of(admin), plan_id='starter', interval='month', seats=11
        )


async def test_seats_come_from_the_subscription_once_it_is_live(services: Services, emulator_app) -> None:
    admin, session_id = await bought(services, emulator_app, seats=7)
    assert await seat_limit(admin.organization_id, trial_seats=services.settings.trial_seats) == 3
    await services.billing.checkouts.fulfill(session_id)
    assert await seat_limit(admin.organization_id, trial_seats=services.settings.trial_seats) == 7


async def test_organization_edits_update_the_stripe_customer(services: Services, emulator_app) -> None:
    admin, _ = await bought(services, emulator_app)
    values = {'name': 'Renamed B.V.', 'billing_email': 'ap@renamed.example', 'address_line1': 'Dam 1',
              'postal_code': '1012 JS', 'city': 'Amsterdam', 'country': 'NL', 'tax_id': 'NL123456789B01'}  # fmt: skip
    await services.organizations.update(
        session=await session_of(admin), organization_id=admin.organization_id, values=values
    )
    account = await BillingAccount.get(organization_id=admin.organization_id)
    customer = await services.billing.gateway.call('customers', 'retrieve', account.stripe_customer_id)
    assert (customer['name'], customer['email']) == ('Renamed B.V.', 'ap@renamed.example')
    assert customer['address']['city'] == 'Amsterdam' and customer['address']['country'] == 'NL'
    assert customer['metadata']['tax_id'] == 'NL123456789B01'


async def test_every_handled_event_type_delivered_twice_changes_the_mirror_once(services: Services, emulator_app):
    admin, _ = await bought(services, emulator_app)
    await services.billing.payment_methods.cards(session=await session_of(admin))
    kinds = ['payment_method.attached', 'customer.subscription.updated', 'invoice.paid', 'checkout.session.completed']
    for kind in kinds:
        for event in await events_of(services, kind):
            assert (await deliver(services, event)).message == 'ok', kind
            assert (await deliver(services, event)).message == 'duplicate, ignored', kind
    assert await CheckoutFulfillment.filter(organization_id=admin.organization_id).count() == 1
    mirror = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert (mirror.status, mirror.seats) == ('active', 2)


async def test_a_checkout_made_outside_portico_is_acknowledged_and_ignored(services: Services, emulator_app) -> None:
    gateway = services.billing.gateway
    customer = await gateway.call('customers', 'create', name='Someone else')
    price = await services.billing.prices.price_id('portico_starter_monthly')
    checkout = await gateway.call('checkout.sessions', 'create', mode='subscription', customer=customer['id'],
                                  line_items=[{'price': price, 'quantity': 1}],
                                  success_url='https://elsewhere.example/ok')  # fmt: skip
    assert (await pay(emulator_app, checkout['url'])).status_code == 303
    [completed] = await events_of(services, 'checkout.session.completed')
    assert (await deliver(services, completed)).status == 200
    assert not await CheckoutFulfillment.exists()
    assert not await SubscriptionMirror.exists()

"""3-D Secure through the portal's services, the real SDK and the emulator: a renewal that waits for the cardholder
shows "Confirm payment" (the hosted authentication page, back to /admin), and a seat change whose charge needs it is
held back (`pending_if_incomplete`) until the payment is confirmed."""

from urllib.parse import parse_qs, urlsplit

import httpx

from db.models import BillingAccount, SubscriptionMirror
from services.billing.webhooks import HANDLERS
from services.container import Services
from tests.billing_helpers import bought, clocked_organization, deliver
from tests.helpers import session_of


async def deliver_all(services: Services) -> None:
    """Every event Portico acts on, oldest first, as Stripe would send them (repeats are ignored by Portico)."""
    page = await services.billing.gateway.call('events', 'list', limit=100)
    for event in reversed(page['data']):
        if event['type'] in HANDLERS:
            assert (await deliver(services, event)).status == 200, event['type']


async def authenticate(emulator_app, url: str, choice: str = 'complete') -> httpx.Response:
    """The cardholder's choice on the emulator's hosted 3-D Secure page."""
    parts = urlsplit(url)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator_app), base_url='http://emulator') as client:
        path = parts.path.removeprefix('/emulator/stripe')
        return await client.post(f'{path}?{parts.query}', data={'authentication': choice})


async def _card_that_asks(services: Services, admin) -> None:
    gateway = services.billing.gateway
    account = await BillingAccount.get(organization_id=admin.organization_id)
    card = await gateway.call('payment_methods', 'create', type='card', card={'token': 'tok_authenticationRequired'})
    await gateway.call('payment_methods', 'attach', card['id'], customer=account.stripe_customer_id)
    await services.billing.payment_methods.make_default(session=await session_of(admin), card_id=card['id'])


async def test_a_renewal_waiting_for_3d_secure_offers_confirm_payment(services: Services, emulator_app) -> None:
    gateway = services.billing.gateway
    admin, clock_id = await clocked_organization(services, emulator_app, plan='starter', seats=2)
    await _card_that_asks(services, admin)
    renewal = (await SubscriptionMirror.get(organization_id=admin.organization_id)).current_period_end
    await gateway.call('test_helpers.test_clocks', 'advance', clock_id, frozen_time=int(renewal.timestamp()) + 60)
    await deliver_all(services)

    mirror = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert (mirror.status, mirror.open_invoice_amount, mirror.pending_change) == ('past_due', 1200, '')
    url = mirror.payment_action_url
    assert '/authenticate/pi_' in url
    assert parse_qs(urlsplit(url).query)['return_url'] == [f'{services.settings.base_url}/admin']
    overview = await services.billing.subscriptions.overview(session=await session_of(admin))
    assert overview.owes

    assert 'Payment confirmed' in (await authenticate(emulator_app, url)).text
    await deliver_all(services)
    mirror = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert (mirror.status, mirror.payment_action_url, mirror.open_invoice_id) == ('active', '', '')


async def test_a_seat_change_that_needs_3d_secure_applies_only_once_confirmed(services: Services,
                                                                               emulator_app) -> None:  # fmt: skip
    admin, session_id = await bought(services, emulator_app, plan='flexible', seats=2)
    await services.billing.checkouts.fulfill(session_id)
    await _card_that_asks(services, admin)
    session = await session_of(admin)
    held = await services.billing.subscriptions.add_seats(session=session, seats_to_add=1, from_seats=2)
    assert (held.seats, held.status, held.pending_change) == (2, 'active', 'Flexible, monthly, 3 seats')
    assert held.payment_action_url and held.open_invoice_amount > 0
    overview = await services.billing.subscriptions.overview(session=session)
    assert overview.owes and overview.seat_limit == 2  # nothing changes until the payment is confirmed

    failed = await authenticate(emulator_app, held.payment_action_url, 'fail')
    assert 'Authentication failed' in failed.text
    await deliver_all(services)
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).seats == 2

    # A failed authentication leaves the payment to be made again: the admin tries the same change once more.
    held = await services.billing.subscriptions.add_seats(session=session, seats_to_add=1, from_seats=2)
    assert 'Payment confirmed' in (await authenticate(emulator_app, held.payment_action_url)).text
    await deliver_all(services)
    mirror = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert (mirror.seats, mirror.pending_change, mirror.payment_action_url) == (3, '', '')

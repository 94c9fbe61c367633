"""Steps the billing tests share: paying on the emulator's hosted page, signed webhooks, a subscribed org."""

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import stripe

from db.models import BillingAccount
from services.billing import webhooks
from services.container import Services
from tests.helpers import create_admin, session_of


def signed(services: Services, event: dict, *, timestamp: int | None = None) -> tuple[bytes, str]:
    payload = json.dumps(event, default=str).encode()
    header = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), services.billing.gateway.webhook_secret, timestamp=timestamp or int(time.time())
    )
    return payload, header


async def deliver(services: Services, event: dict, **signing) -> webhooks.WebhookResult:
    payload, header = signed(services, event, **signing)
    return await webhooks.receive(services.billing, payload, header)


async def events_of(services: Services, kind: str) -> list[dict]:
    """The emulator's events of one type, oldest first."""
    page = await services.billing.gateway.call('events', 'list', type=kind, limit=100)
    return list(reversed(page['data']))


async def pay(emulator_app, url: str, card: str = '4242 4242 4242 4242') -> httpx.Response:
    """Submit the hosted checkout page's form, as the browser does."""
    transport = httpx.ASGITransport(app=emulator_app)
    async with httpx.AsyncClient(transport=transport, base_url='http://emulator') as client:
        path = urlsplit(url).path.removeprefix('/emulator/stripe')
        form = {'card_number': card, 'expiry': '12 / 34', 'cvc': '123', 'name': 'Pat Payer'}
        return await client.post(path, data=form)


async def bought(
    services: Services, emulator_app, *, seats: int = 2, plan: str = 'flexible', interval: str = 'month', admin=None
):
    """An organization that went through checkout; returns (admin, checkout session id)."""
    admin = admin or await create_admin()
    url = await services.billing.checkouts.start_subscription(
        session=await session_of(admin), plan_id=plan, interval=interval, seats=seats
    )
    response = await pay(emulator_app, url)
    assert response.status_code == 303, response.text
    session_id = response.headers['location'].split('session_id=')[1]
    return admin, session_id


async def subscribed(services: Services, emulator_app, *, plan: str = 'flexible', seats: int = 2, **kwargs):
    """An organization with a live subscription in the mirror; returns its admin."""
    admin, session_id = await bought(services, emulator_app, plan=plan, seats=seats, **kwargs)
    assert await services.billing.checkouts.fulfill(session_id) == 'complete'
    return admin


async def subscribe_through_stripe(server, organization_id: int, *, plan: str = 'starter') -> None:
    """As someone would in Stripe's dashboard: only Stripe's webhook tells Portico."""
    key = (Path(server.env['DATA_DIR']) / 'stripe-emulator-key').read_text().strip()
    client = stripe.StripeClient(key, base_addresses={'api': f'{server.url}/emulator/stripe'})
    v1 = client.v1
    for _ in range(50):  # the catalog is synced into the emulator at start-up, in the background
        prices = await v1.prices.list_async(params={'lookup_keys': [f'portico_{plan}_monthly']})
        if prices.data:
            break
        await asyncio.sleep(0.1)
    customer = await v1.customers.create_async(params={'name': 'Killed Org'})
    card = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    await v1.payment_methods.attach_async(card.id, params={'customer': customer.id})
    await v1.subscriptions.create_async(params={
        'customer': customer.id, 'items': [{'price': prices.data[0].id, 'quantity': 2}],
        'default_payment_method': card.id, 'metadata': {'organization_id': str(organization_id)},
    })  # fmt: skip


async def clocked_organization(services: Services, emulator_app, *, plan: str, seats: int, admin=None):
    """An organization whose Stripe customer lives on a new test clock, subscribed through checkout; returns
    (admin, clock id)."""
    gateway = services.billing.gateway
    admin = admin or await create_admin()
    clock = await gateway.call('test_helpers.test_clocks', 'create', frozen_time=int(time.time()))
    customer = await gateway.call('customers', 'create', name='Clocked', test_clock=clock['id'])
    await BillingAccount.create(organization_id=admin.organization_id, stripe_customer_id=customer['id'])
    _, session_id = await bought(services, emulator_app, plan=plan, seats=seats, admin=admin)
    assert await services.billing.checkouts.fulfill(session_id) == 'complete'
    return admin, clock['id']

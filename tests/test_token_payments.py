"""Tokens are credited only for money Stripe holds: a bank debit (SEPA) that settles later, one that fails, and
refunds and lost disputes that take tokens back. Real signed webhooks from the emulator reach Portico's handler."""

import asyncio
import time
from urllib.parse import urlsplit

import httpx
import pytest
from nicegui.testing import User as UserSim
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tortoise.expressions import F

from db.models import AuditEvent, BillingAccount, SubscriptionMirror, TokenLedgerEntry
from services.billing import webhooks
from services.container import Services
from services.settings import Settings
from stripe_emulator import EmulatorConfig, create_app
from tests.billing_helpers import pay, subscribed
from tests.helpers import create_admin, log_in, session_of

SETTLES, FAILS = 'AT611904300234573201', 'AT861904300235473202'
# Long enough for the checks made before the payment settles, also on a loaded 2-core machine (0.3 s was not).
DELAY = 2.0


@pytest.fixture
async def billing(db: Settings):
    """The services with an emulator that runs (deliveries, settlements) and calls Portico's webhook handler."""
    holder: dict[str, Services] = {}

    async def receive(request: Request) -> JSONResponse:
        body, signature = await request.body(), request.headers.get('stripe-signature')
        result = await webhooks.receive(holder['services'].billing, body, signature)
        return JSONResponse({'message': result.message}, status_code=result.status)

    portico = Starlette(routes=[Route('/stripe/webhook', receive, methods=['POST'])])
    config = EmulatorConfig(
        data_dir=db.data_dir, base_url=db.base_url, webhook_url='http://portico/stripe/webhook',
        webhook_transport=httpx.ASGITransport(app=portico), async_payment_delay_seconds=DELAY, retry_base_seconds=0.1,
    )  # fmt: skip
    emulator_app = create_app(config)
    services = holder['services'] = Services.build(db, emulator_app=emulator_app)
    await services.billing.prices.sync()
    emulator = emulator_app.state.emulator
    await emulator.start()
    yield services, emulator_app
    await emulator.stop()
    emulator.close()


async def buy_tokens(services: Services, emulator_app, admin, *, packs: int, iban: str | None = None) -> str:
    url = await services.billing.tokens.start_checkout(session=await session_of(admin), packs=packs)
    if iban is None:
        response = await pay(emulator_app, url)
    else:
        transport = httpx.ASGITransport(app=emulator_app)
        async with httpx.AsyncClient(transport=transport, base_url='http://emulator') as client:
            data = {'method': 'sepa_debit', 'iban': iban, 'account_holder': 'Ada Lovelace'}
            response = await client.post(urlsplit(url).path.removeprefix('/emulator/stripe'), data=data)
    assert response.status_code == 303, response.text
    await emulator_app.state.emulator.drain()
    return response.headers['location'].split('checkout_session=')[1]


async def balance(admin) -> int:
    return (await BillingAccount.get(organization_id=admin.organization_id)).token_balance


async def ledger(admin) -> list[tuple[str, int]]:
    entries = await TokenLedgerEntry.filter(organization_id=admin.organization_id).order_by('id')
    return [(entry.kind, entry.delta) for entry in entries]


async def settled(emulator_app, intent_id: str) -> None:
    deadline = time.monotonic() + 15
    client = emulator_app.state.emulator
    while client.store.get(intent_id, 'payment_intent')['status'] == 'processing':
        assert time.monotonic() < deadline, 'the bank debit never settled'
        await asyncio.sleep(0.05)
    await client.drain()


async def test_a_bank_debit_is_credited_when_it_settles_and_once(billing) -> None:
    services, emulator_app = billing
    admin = await subscribed(services, emulator_app, plan='flexible')
    session_id = await buy_tokens(services, emulator_app, admin, packs=2, iban=SETTLES)
    checkout = await services.billing.gateway.call('checkout.sessions', 'retrieve', session_id)
    assert (checkout['status'], checkout['payment_status']) == ('complete', 'unpaid')
    assert await services.billing.checkouts.fulfill(session_id) == 'complete'  # the return page, too early
    assert await balance(admin) == 0 and await ledger(admin) == [('pending', 0)]

    await settled(emulator_app, checkout['payment_intent'])
    assert await balance(admin) == 2000
    assert await ledger(admin) == [('pending', 0), ('purchase', 2000)]
    [succeeded] = [event for event in await _events(services, 'checkout.session.async_payment_succeeded')]
    emulator_app.state.emulator.replay(succeeded['id'])  # Stripe may deliver it twice
    await emulator_app.state.emulator.drain()
    await services.billing.checkouts.fulfill(session_id)
    assert await balance(admin) == 2000 and len(await ledger(admin)) == 2


async def test_a_failed_bank_debit_credits_nothing_and_says_so(billing) -> None:
    services, emulator_app = billing
    admin = await subscribed(services, emulator_app, plan='flexible')
    session_id = await buy_tokens(services, emulator_app, admin, packs=3, iban=FAILS)
    checkout = await services.billing.gateway.call('checkout.sessions', 'retrieve', session_id)
    await settled(emulator_app, checkout['payment_intent'])
    assert await balance(admin) == 0
    assert await ledger(admin) == [('pending', 0), ('payment_failed', 0)]
    failed = await TokenLedgerEntry.get(organization_id=admin.organization_id, kind='payment_failed')
    assert failed.description == 'Payment failed: 3,000 tokens were not credited'
    assert await AuditEvent.exists(organization_id=admin.organization_id, action='billing.token_payment_failed')
    await services.billing.checkouts.fulfill(session_id)  # the return page, afterwards: still nothing
    assert await balance(admin) == 0


async def test_refunds_and_a_lost_dispute_take_the_tokens_back_once(billing) -> None:
    services, emulator_app = billing
    admin = await subscribed(services, emulator_app, plan='flexible')
    gateway = services.billing.gateway
    session_id = await buy_tokens(services, emulator_app, admin, packs=3)
    assert await balance(admin) == 3000  # a card: paid at once
    intent = (await gateway.call('checkout.sessions', 'retrieve', session_id))['payment_intent']
    await gateway.call('refunds', 'create', payment_intent=intent, amount=1000)  # a third of $30.00
    await emulator_app.state.emulator.drain()
    assert await balance(admin) == 2000
    await BillingAccount.filter(organization_id=admin.organization_id).update(token_balance=F('token_balance') - 1500)
    await gateway.call('refunds', 'create', payment_intent=intent)  # the rest, after 1,500 tokens were spent
    await emulator_app.state.emulator.drain()
    assert await balance(admin) == -1500  # below zero, plainly
    assert [kind for kind, _ in await ledger(admin)] == ['purchase', 'refund', 'refund']
    for refunded in await _events(services, 'charge.refunded'):
        emulator_app.state.emulator.replay(refunded['id'])
    await emulator_app.state.emulator.drain()
    assert await balance(admin) == -1500

    disputed = await subscribed(services, emulator_app, plan='flexible', admin=await create_admin('Dispute Org'))
    url = await services.billing.tokens.start_checkout(session=await session_of(disputed), packs=2)
    assert (await pay(emulator_app, url, card='4000 0000 0000 0259')).status_code == 303
    await emulator_app.state.emulator.drain()
    assert await balance(disputed) == 2000  # an open dispute takes nothing yet
    [dispute] = (await gateway.call('disputes', 'list'))['data']
    await gateway.call('disputes', 'close', dispute['id'])  # accepting it: the dispute is lost
    await emulator_app.state.emulator.drain()
    assert await balance(disputed) == 0
    assert await ledger(disputed) == [('purchase', 2000), ('dispute', -2000)]
    assert await AuditEvent.exists(organization_id=disputed.organization_id, action='billing.tokens_disputed')


async def test_a_negative_balance_shows_plainly(user: UserSim) -> None:
    admin = await create_admin('Owing Org')
    await SubscriptionMirror.create(
        organization_id=admin.organization_id, stripe_subscription_id='sub_owing', plan_id='flexible', interval='month',
        status='active', seats=3,
    )  # fmt: skip
    await BillingAccount.create(organization_id=admin.organization_id, token_balance=-1500)
    await log_in(user, admin.email)
    await user.should_see('-1,500')
    await user.should_see('below zero: refunded or disputed tokens were already used. New tokens cover this first.')


async def _events(services: Services, kind: str) -> list[dict]:
    page = await services.billing.gateway.call('events', 'list', type=kind, limit=100)
    return list(reversed(page['data']))

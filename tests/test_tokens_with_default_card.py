"""Issue 14, point 3: the token checkout says what it sells, and "+ Add tokens" pays at once with the default card.

Real database (SQLite or PostgreSQL), the real SDK against the emulator in-process; the dialog through NiceGUI's
simulated user against the running portal.
"""

import asyncio
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from nicegui import app, ui
from nicegui.testing import User as UserSim
from starlette.routing import Mount

from api import create_api
from components.activity_sentences import sentence
from db.models import AuditEvent, BillingAccount, SubscriptionMirror, TokenLedgerEntry
from services import api_keys
from services.container import Services
from services.errors import PermissionDenied, ValidationFailed
from tests.billing_helpers import deliver, events_of, pay, subscribed
from tests.helpers import click, create_admin, log_in, session_of

DECLINED = 'Your card was declined.'
NEEDS_3DS = 'Your card was declined. This transaction requires authentication.'
TOLD = ('Nothing was charged and no tokens were added. Proceed to checkout to pay with another card, or with this one '
        'if your bank asks to confirm the payment.')  # fmt: skip


def a_click() -> str:
    """What the dialog makes when it opens: the name of one purchase."""
    return uuid.uuid4().hex


async def intents_of(services: Services, admin) -> list[dict]:
    """The organization's PaymentIntents bought with the default card, oldest first."""
    account = await BillingAccount.get(organization_id=admin.organization_id)
    page = await services.billing.gateway.call('payment_intents', 'list', customer=account.stripe_customer_id)
    return [intent for intent in reversed(page['data'])
            if intent['metadata'].get('purpose') == 'default_card_purchase']  # fmt: skip


async def ledger(admin) -> list[tuple[str, int]]:
    entries = await TokenLedgerEntry.filter(organization_id=admin.organization_id).order_by('id')
    return [(entry.kind, entry.delta) for entry in entries]


async def balance(admin) -> int:
    return (await BillingAccount.get(organization_id=admin.organization_id)).token_balance


async def default_card(services: Services, admin, token: str) -> str:
    """Make a new card from Stripe's test `token` the customer's default (as "Make default" does)."""
    gateway, account = services.billing.gateway, await BillingAccount.get(organization_id=admin.organization_id)
    card = await gateway.call('payment_methods', 'create', type='card', card={'token': token})
    await gateway.call('payment_methods', 'attach', card['id'], customer=account.stripe_customer_id)
    await gateway.call('customers', 'update', account.stripe_customer_id,
                       invoice_settings={'default_payment_method': card['id']})  # fmt: skip
    return card['id']


async def succeeded_events(services: Services, intent_id: str) -> list[dict]:
    return [event for event in await events_of(services, 'payment_intent.succeeded')
            if event['data']['object']['id'] == intent_id]  # fmt: skip


# ----- the service ---------------------------------------------------------------------------------------------


async def test_a_double_click_a_retry_and_a_repeated_webhook_charge_once_and_credit_once(
    services: Services, emulator_app
) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible')  # paid with 4242, now the default card
    tokens, me = services.billing.tokens, await session_of(admin)
    offer = await tokens.offer(session=me)
    assert (offer.card_brand, offer.card_last4, offer.pack_size, offer.pack_price) == ('visa', '4242', 1000, 1000)

    click = a_click()
    both = await asyncio.gather(*(tokens.buy_with_default_card(session=me, packs=3, request=click) for _ in range(2)))
    retried = await tokens.buy_with_default_card(session=me, packs=3, request=click)  # a lost answer, asked again
    assert [(p.paid, p.tokens, p.amount, p.refusal) for p in (*both, retried)] == [(True, 3000, '$30.00', '')] * 3
    [intent] = await intents_of(services, admin)
    assert (intent['status'], intent['amount'], intent['currency']) == ('succeeded', 3000, 'usd')
    assert intent['description'] == 'Buy 3,000 tokens: 3 × Token pack (1,000 tokens)'
    assert intent['metadata'] == {'organization_id': str(admin.organization_id), 'purpose': 'default_card_purchase',
                                  'packs': '3', 'tokens': '3000'}  # fmt: skip
    for event in await succeeded_events(services, intent['id']) * 2:  # the webhook, and Stripe sending it again
        assert (await deliver(services, event)).status == 200
    assert await ledger(admin) == [('purchase', 3000)]
    assert await balance(admin) == 3000
    entry = await TokenLedgerEntry.get(organization_id=admin.organization_id)
    assert (entry.reference, entry.description) == (intent['id'], 'Bought 3 token packs: 3,000 tokens')
    [credited] = await AuditEvent.filter(organization_id=admin.organization_id, action='billing.tokens_bought')
    assert credited.actor_id == admin.id
    assert sentence(credited) == 'Ada Admin bought 3,000 tokens for $30.00 with the default card'

    again = await tokens.buy_with_default_card(session=me, packs=1, request=a_click())  # the next purchase
    assert again.paid and len(await intents_of(services, admin)) == 2 and await balance(admin) == 4000
    made = await api_keys.create(name='product', live=False)
    transport = httpx.ASGITransport(app=create_api(services), root_path='/api')
    async with httpx.AsyncClient(transport=transport, base_url='http://portico/api',
                                 headers={'authorization': f'Bearer {made.secret}'}) as api:  # fmt: skip
        rows = (await api.get(f'/v1/organizations/{admin.organization_id}/tokens/ledger')).json()['data']
    assert [(row['kind'], row['delta']) for row in rows] == [('purchase', 1000), ('purchase', 3000)]


async def test_a_purchase_whose_answer_was_lost_is_credited_once_by_its_webhook(services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible')
    await services.billing.tokens.buy_with_default_card(session=await session_of(admin), packs=2, request=a_click())
    [intent] = await intents_of(services, admin)
    await TokenLedgerEntry.filter(organization_id=admin.organization_id).delete()  # as if Portico never heard back
    await BillingAccount.filter(organization_id=admin.organization_id).update(token_balance=0)
    for event in await succeeded_events(services, intent['id']) * 2:
        assert (await deliver(services, event)).status == 200
    assert await ledger(admin) == [('purchase', 2000)] and await balance(admin) == 2000
    [credited] = await AuditEvent.filter(
        organization_id=admin.organization_id, action='billing.tokens_credited', actor_id=None
    )  # the webhook's (the buyer's first credit was undone above)
    assert sentence(credited) == 'Stripe confirmed the payment of $20.00; 2,000 tokens were added'

    await services.billing.gateway.call('refunds', 'create', payment_intent=intent['id'], amount=1000)
    await services.billing.tokens.charge_reversed(intent['latest_charge'])  # what charge.refunded's webhook does
    assert await ledger(admin) == [('purchase', 2000), ('refund', -1000)] and await balance(admin) == 1000


@pytest.mark.parametrize(('token', 'reason'), [('tok_chargeCustomerFail', DECLINED),
                                               ('tok_authenticationRequired', NEEDS_3DS)])  # fmt: skip
async def test_a_declined_card_or_one_that_asks_for_3ds_credits_nothing_and_leaves_checkout(
    services, emulator_app, token: str, reason: str
) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible')
    await default_card(services, admin, token)
    tokens, me, click = services.billing.tokens, await session_of(admin), a_click()
    for _ in range(2):  # the same click again: the same answer, and still one attempt
        purchase = await tokens.buy_with_default_card(session=me, packs=3, request=click)
        assert (purchase.paid, purchase.refusal) == (False, reason)
    [failed] = await intents_of(services, admin)
    assert failed['status'] == 'requires_payment_method'
    assert await ledger(admin) == [] and await balance(admin) == 0
    assert (await tokens.start_checkout(session=me, packs=3)).startswith('http')  # Checkout remains


async def test_what_the_purchase_refuses(services, emulator_app) -> None:
    flexible = await subscribed(services, emulator_app, plan='flexible')
    me, tokens = await session_of(flexible), services.billing.tokens
    for packs in (0, 101, 2.0, True):
        with pytest.raises(ValidationFailed, match='1 to 100 packs'):
            await tokens.buy_with_default_card(session=me, packs=packs, request=a_click())
    for request in ('', 'short', 'x' * 65, 'no spaces allowed', None):
        with pytest.raises(ValidationFailed, match='Open "\\+ Add tokens" again'):
            await tokens.buy_with_default_card(session=me, packs=1, request=request)
    account = await BillingAccount.get(organization_id=flexible.organization_id)
    await services.billing.gateway.call('customers', 'update', account.stripe_customer_id,
                                        invoice_settings={'default_payment_method': ''})  # fmt: skip
    assert (await tokens.offer(session=me)).card_brand == ''
    with pytest.raises(PermissionDenied, match='no default card'):
        await tokens.buy_with_default_card(session=me, packs=1, request=a_click())
    starter = await subscribed(services, emulator_app, plan='starter')
    for ask in (
        tokens.offer(session=await session_of(starter)),
        tokens.buy_with_default_card(session=await session_of(starter), packs=1, request=a_click()),
    ):
        with pytest.raises(PermissionDenied, match='Flexible'):
            await ask
    assert await intents_of(services, flexible) == [] and await ledger(flexible) == []


async def test_the_checkout_sells_token_packs_by_name_for_the_organization(services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible')
    url = await services.billing.tokens.start_checkout(session=await session_of(admin), packs=3)
    assert url == await services.billing.tokens.start_checkout(session=await session_of(admin), packs=3)  # once
    transport = httpx.ASGITransport(app=emulator_app)
    async with httpx.AsyncClient(transport=transport, base_url='http://emulator') as client:
        page = (await client.get(urlsplit(url).path.removeprefix('/emulator/stripe'))).text
    assert '<h1>Buy 3,000 tokens</h1>' in page
    assert '<div>Token pack (1,000 tokens)</div><div class="muted">Qty 3, $10.00 each</div>' in page
    assert 'Paying as Acme Corp' in page
    assert 'For Acme Corp: the tokens are added to its balance as soon as the payment goes through.' in page
    assert 'Flexible' not in page and 'Pay Portico' not in page

    session_id = (await pay(emulator_app, url)).headers['location'].split('checkout_session=')[1]
    checkout = await services.billing.gateway.call('checkout.sessions', 'retrieve', session_id,
                                                   expand=['line_items', 'invoice'])  # fmt: skip
    [item] = checkout['line_items']['data']
    assert (item['description'], item['quantity'], item['amount_total']) == ('Token pack (1,000 tokens)', 3, 3000)
    assert checkout['custom_text']['submit'] == {'message': 'Buy 3,000 tokens'}
    assert checkout['invoice']['lines']['data'][0]['description'] == 'Token pack (1,000 tokens)'

    gateway = services.billing.gateway
    before = gateway.calls
    message = await services.billing.checkouts.completion_message(session=await session_of(admin),
                                                                  checkout_session_id=session_id)  # fmt: skip
    assert message == '3,000 tokens added.'
    assert gateway.calls - before == 1  # one read of the session, to fulfil it and to say what it did
    assert await ledger(admin) == [('purchase', 3000)]


# ----- the dialog, through NiceGUI's simulated user -------------------------------------------------------------


async def flexible_with_a_default_card(card: str = 'tok_visa'):
    """An admin of a live Flexible organization whose customer's default card is made from Stripe's test token
    `card`."""
    admin = await create_admin('Card Org')
    services: Services = app.state.services
    account = await services.billing.customers.ensure(admin.organization)
    await default_card(services, admin, card)
    await SubscriptionMirror.create(organization_id=admin.organization_id, stripe_subscription_id=f'sub_{a_click()}',
                                    plan_id='flexible', interval='month', status='active', seats=3)  # fmt: skip
    assert account.stripe_customer_id
    return admin


def quantity(user: UserSim) -> ui.number:
    [field] = [field for field in user.find(kind=ui.number).elements if field.props.get('label') == 'Quantity']
    return field


def pay_button(user: UserSim) -> ui.button:
    [button] = [b for b in user.find(kind=ui.button).elements if b.text.startswith('Pay ')]
    return button


async def open_add_tokens(user: UserSim, packs: int) -> None:
    click(user, '+ Add tokens')
    await user.should_see('Proceed to checkout', retries=30)  # the dialog opens once Stripe has named the card
    quantity(user).value = packs


async def test_the_dialog_names_the_card_and_a_double_click_pays_once(user: UserSim) -> None:
    admin = await flexible_with_a_default_card()
    await log_in(user, admin.email)
    await open_add_tokens(user, 3)
    await user.should_see('Pay now with your default card, Visa ending in 4242, or proceed to checkout to use '
                          'another card.')  # fmt: skip
    await user.should_see('Total: $30.00')
    await user.should_see('Pay $30.00 with Visa ending in 4242')
    button = pay_button(user)
    for _ in range(2):
        user.find(kind=ui.button, content='Pay $30.00 with Visa ending in 4242').click()
    await user.should_see('3,000 tokens added.', retries=40)
    await user.should_not_see('Proceed to checkout', retries=20)  # the dialog closed
    assert button.is_deleted
    services: Services = app.state.services
    [intent] = await intents_of(services, admin)
    for event in await succeeded_events(services, intent['id']) * 2:  # the webhook, and again
        assert (await deliver(services, event)).status == 200
    assert await ledger(admin) == [('purchase', 3000)] and await balance(admin) == 3000
    await user.should_see('3,000', retries=40)  # the Tokens field


async def test_a_declined_card_is_told_in_the_dialog_and_checkout_stays(user: UserSim) -> None:
    admin = await flexible_with_a_default_card('tok_chargeCustomerFail')
    await log_in(user, admin.email)
    await open_add_tokens(user, 2)
    click(user, 'Pay $20.00 with Visa ending in 0341')
    await user.should_see(f'{DECLINED} {TOLD}', retries=40)
    assert not pay_button(user).enabled
    proceed = user.find(kind=ui.button, content='Proceed to checkout').elements.pop()
    assert proceed.enabled
    quantity(user).value = 4  # another quantity does not bring the refused card back
    await user.should_see('Pay $40.00 with Visa ending in 0341')
    assert not pay_button(user).enabled
    assert await ledger(admin) == [] and await balance(admin) == 0


async def test_without_a_default_card_the_dialog_offers_checkout_only(user: UserSim) -> None:
    admin = await flexible_with_a_default_card()
    services: Services = app.state.services
    account = await BillingAccount.get(organization_id=admin.organization_id)
    await services.billing.gateway.call('customers', 'update', account.stripe_customer_id,
                                        invoice_settings={'default_payment_method': ''})  # fmt: skip
    await log_in(user, admin.email)
    await open_add_tokens(user, 1)
    await user.should_see('Total: $10.00')
    assert not [b for b in user.find(kind=ui.button).elements if b.text.startswith('Pay ')]
    await user.should_not_see('default card')


async def test_back_from_checkout_the_page_reads_the_session_once(user: UserSim) -> None:
    admin = await flexible_with_a_default_card()
    await log_in(user, admin.email)
    services: Services = app.state.services
    url = await services.billing.tokens.start_checkout(session=await session_of(admin), packs=3)
    emulator = next(route.app for route in app.routes if isinstance(route, Mount) and route.path == '/emulator/stripe')
    session_id = (await pay(emulator, url)).headers['location'].split('checkout_session=')[1]
    await emulator.state.emulator.drain()
    await services.billing.checkouts.fulfill(session_id)
    gateway = services.billing.gateway
    while True:  # the start-up work and the webhooks have stopped calling Stripe
        before = gateway.calls
        await asyncio.sleep(0.3)
        if gateway.calls == before:
            break
    await user.open(f'/admin?checkout_session={session_id}')
    await user.should_see('3,000 tokens added.', retries=40)
    assert gateway.calls - before == 1
    assert await ledger(admin) == [('purchase', 3000)]

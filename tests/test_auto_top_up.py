"""Auto top-up: below N tokens, K packs bought with the default card, at most M times a month. Real database (SQLite
or PostgreSQL), the real SDK against the emulator in-process, the real consumption of the product API."""

import asyncio
import time
from datetime import timedelta

import httpx
import pytest
from nicegui import app, ui
from nicegui.testing import User as UserSim

from api import create_api
from db.models import AuditEvent, BillingAccount, OutboxMail, Role, SubscriptionMirror, TokenLedgerEntry, User
from services import api_keys
from services.billing.auto_top_up import NO_CARD, NOT_HERE
from services.container import Services
from services.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from services.events import auto_top_up_due
from services.moments import now
from tests.billing_helpers import deliver, events_of, subscribed
from tests.helpers import click, create_admin, create_member, log_in, session_of

DECLINED = 'Your card was declined.'
NEEDS_3DS = 'Your card was declined. This transaction requires authentication.'


async def flexible(services: Services, emulator_app, *, tokens: int, below: int, packs: int = 2, cap: int = 3):
    """A Flexible organization with `tokens` granted and auto top-up set; returns its admin."""
    admin = await subscribed(services, emulator_app, plan='flexible')
    await services.usage.grant(organization_id=admin.organization_id, amount=tokens, idempotency_key='start')
    await services.billing.auto_top_ups.save(session=await session_of(admin), below=below, packs=packs,
                                             monthly_cap=cap)  # fmt: skip
    return admin


async def consume(services: Services, admin, amount: int, key: str):
    outcome = await services.usage.consume(organization_id=admin.organization_id, amount=amount, idempotency_key=key)
    assert outcome.status == 200, outcome.body
    return outcome


async def bought(services: Services, admin) -> list[dict]:
    """The organization's PaymentIntents in the emulator, oldest first."""
    account = await BillingAccount.get(organization_id=admin.organization_id)
    page = await services.billing.gateway.call('payment_intents', 'list', customer=account.stripe_customer_id)
    return [intent for intent in reversed(page['data']) if intent['metadata'].get('purpose') == 'auto_top_up']


async def ledger(admin) -> list[tuple[str, int]]:
    entries = await TokenLedgerEntry.filter(organization_id=admin.organization_id).order_by('id')
    return [(entry.kind, entry.delta) for entry in entries]


async def account_of(admin) -> BillingAccount:
    return await BillingAccount.get(organization_id=admin.organization_id)


async def default_card(services: Services, admin, token: str) -> str:
    """Replace the customer's default card by a new one made from Stripe's test `token`."""
    gateway, account = services.billing.gateway, await account_of(admin)
    card = await gateway.call('payment_methods', 'create', type='card', card={'token': token})
    await gateway.call('payment_methods', 'attach', card['id'], customer=account.stripe_customer_id)
    await gateway.call('customers', 'update', account.stripe_customer_id,
                       invoice_settings={'default_payment_method': card['id']})  # fmt: skip
    return card['id']


async def mails_to_arrive(count: int, subject: str, seconds: float = 5.0) -> list[OutboxMail]:
    """The outbox (no SMTP) once `count` mails with this subject are in it; the mails are sent in the background."""
    deadline = time.monotonic() + seconds
    while len(mails := await OutboxMail.filter(subject=subject)) < count:
        assert time.monotonic() < deadline, f'expected {count} mails {subject!r}, got {len(mails)}'
        await asyncio.sleep(0.02)
    return mails


async def test_a_crossing_buys_once_credits_once_and_arms_again(services, emulator_app) -> None:
    admin = await flexible(services, emulator_app, tokens=1500, below=1000, packs=2)
    await consume(services, admin, 400, 'above')  # 1,100 left: not below 1,000
    assert await bought(services, admin) == []
    crossing = await consume(services, admin, 200, 'below')  # 900 left
    await services.billing.auto_top_ups.drain()

    [intent] = await bought(services, admin)
    assert (intent['status'], intent['amount'], intent['currency']) == ('succeeded', 2000, 'usd')
    assert intent['metadata'] == {
        'organization_id': str(admin.organization_id),
        'purpose': 'auto_top_up',
        'packs': '2',
        'tokens': '2000',
        'crossing': str(crossing.body['entry']['id']),
    }
    assert intent['description'] == 'Auto top-up: 2 packs (2,000 tokens)'
    assert intent['payment_method'] == (await services.billing.payment_methods.cards(session=await session_of(
        admin)))[0].id  # the default card  # fmt: skip
    assert await ledger(admin) == [('grant', 1500), ('consumption', -400), ('consumption', -200), ('auto_top_up', 2000)]
    entry = await TokenLedgerEntry.get(organization_id=admin.organization_id, kind='auto_top_up')
    assert (entry.reference, entry.description) == (intent['id'], 'Auto top-up: 2 packs (2,000 tokens)')
    account = await account_of(admin)
    assert (account.token_balance, account.auto_topup_armed, account.auto_topup_error) == (2900, True, '')
    assert await AuditEvent.exists(organization_id=admin.organization_id, action='billing.auto_top_up')

    await consume(services, admin, 1000, 'still above')  # 1,900: armed, not crossed
    await consume(services, admin, 1000, 'again')  # 900: a new crossing, a new purchase
    await services.billing.auto_top_ups.drain()
    assert len(await bought(services, admin)) == 2 and (await account_of(admin)).token_balance == 2900

    overview = await services.billing.subscriptions.overview(session=await session_of(admin))
    assert overview.auto_top_up.line == ('Auto top-up buys 2 packs (2,000 tokens) with the default card when fewer '
                                         'than 1,000 are left, at most 3 times a month.')  # fmt: skip
    made = await api_keys.create(name='product', live=False)
    transport = httpx.ASGITransport(app=create_api(services), root_path='/api')
    async with httpx.AsyncClient(transport=transport, base_url='http://portico/api',
                                 headers={'authorization': f'Bearer {made.secret}'}) as api:  # fmt: skip
        rows = (await api.get(f'/v1/organizations/{admin.organization_id}/tokens/ledger')).json()['data']
    assert [row['kind'] for row in rows][:1] == ['auto_top_up'] and rows[0]['delta'] == 2000


async def test_a_refunded_auto_top_up_takes_its_tokens_back(services, emulator_app) -> None:
    admin = await flexible(services, emulator_app, tokens=1500, below=1000, packs=2)
    await consume(services, admin, 600, 'below')
    await services.billing.auto_top_ups.drain()
    [intent] = await bought(services, admin)
    await services.billing.gateway.call('refunds', 'create', payment_intent=intent['id'], amount=1000)
    await services.billing.tokens.charge_reversed(intent['latest_charge'])  # what charge.refunded's webhook does
    await services.billing.tokens.charge_reversed(intent['latest_charge'])  # and its repeat
    assert (await ledger(admin))[-2:] == [('auto_top_up', 2000), ('refund', -1000)]
    assert (await account_of(admin)).token_balance == 1900


async def test_fifty_consumers_crossing_together_buy_once(services, emulator_app) -> None:
    admin = await flexible(services, emulator_app, tokens=1000, below=500, packs=2)
    published: list = []
    services.events.subscribe(auto_top_up_due(), published.append)
    outcomes = await asyncio.gather(*(
        services.usage.consume(organization_id=admin.organization_id, amount=20, idempotency_key=f'c{n}')
        for n in range(50)
    ))  # fmt: skip
    assert [outcome.status for outcome in outcomes] == [200] * 50
    await services.billing.auto_top_ups.drain()
    assert len(published) == 1
    assert len(await bought(services, admin)) == 1
    assert await TokenLedgerEntry.filter(organization_id=admin.organization_id, kind='auto_top_up').count() == 1
    crossing = published[0][1]
    crossed = await TokenLedgerEntry.get(id=crossing)
    assert crossed.kind == 'consumption' and crossed.organization_id == admin.organization_id
    assert (await account_of(admin)).token_balance == 2000


async def test_the_same_crossing_run_twice_buys_once(services, emulator_app) -> None:
    admin = await flexible(services, emulator_app, tokens=1500, below=1000, packs=1)
    crossing = (await consume(services, admin, 600, 'below')).body['entry']['id']
    await services.billing.auto_top_ups.drain()
    top_ups = services.billing.auto_top_ups
    again = await asyncio.gather(*(top_ups.top_up(admin.organization_id, crossing) for _ in range(2)))
    assert again == ['credited before', 'credited before']
    assert len(await bought(services, admin)) == 1
    assert await ledger(admin) == [('grant', 1500), ('consumption', -600), ('auto_top_up', 1000)]
    assert (await account_of(admin)).token_balance == 1900


async def test_a_top_up_whose_answer_was_lost_is_credited_once_by_its_webhook(services, emulator_app) -> None:
    admin = await flexible(services, emulator_app, tokens=1500, below=1000, packs=1)
    crossing = (await consume(services, admin, 600, 'below')).body['entry']['id']
    await services.billing.auto_top_ups.drain()
    await TokenLedgerEntry.filter(organization_id=admin.organization_id, kind='auto_top_up').delete()
    await BillingAccount.filter(organization_id=admin.organization_id).update(token_balance=900)  # never credited
    succeeded = [event for event in await events_of(services, 'payment_intent.succeeded')
                 if event['data']['object']['metadata'].get('crossing') == str(crossing)]  # fmt: skip
    assert len(succeeded) == 1
    for _ in range(2):
        assert (await deliver(services, succeeded[0])).status == 200
    assert await ledger(admin) == [('grant', 1500), ('consumption', -600), ('auto_top_up', 1000)]
    assert (await account_of(admin)).token_balance == 1900


async def test_the_monthly_cap(services, emulator_app) -> None:
    admin = await flexible(services, emulator_app, tokens=1500, below=1000, packs=1, cap=2)
    session = await session_of(admin)
    for n in range(3):  # 900 left each time; the third crossing is past the cap
        await consume(services, admin, 600 if n == 0 else 1000, f'use {n}')
        await services.billing.auto_top_ups.drain()
    assert len(await bought(services, admin)) == 2
    account = await account_of(admin)
    assert (account.token_balance, account.auto_topup_armed) == (900, True)  # armed: a later month buys again
    overview = await services.billing.subscriptions.overview(session=session)
    assert overview.auto_top_up.at_cap
    assert overview.auto_top_up.line == 'Auto top-up reached its limit of 2 this month.'
    await consume(services, admin, 1, 'still capped')
    await services.billing.auto_top_ups.drain()
    assert len(await bought(services, admin)) == 2

    last_month = now().replace(day=1) - timedelta(days=3)
    await TokenLedgerEntry.filter(organization_id=admin.organization_id, kind='auto_top_up').update(
        created_at=last_month
    )
    await consume(services, admin, 1, 'next month')
    await services.billing.auto_top_ups.drain()
    assert len(await bought(services, admin)) == 3
    assert (await account_of(admin)).token_balance == 1898


@pytest.mark.parametrize(('token', 'reason'), [('tok_chargeCustomerFail', DECLINED),
                                               ('tok_authenticationRequired', NEEDS_3DS)])  # fmt: skip
async def test_a_refused_card_switches_it_off_says_why_and_mails_each_enabled_admin_once(
    services, emulator_app, token: str, reason: str
) -> None:
    admin = await flexible(services, emulator_app, tokens=1500, below=1000, packs=2)
    await create_member(admin, role=Role.ADMIN, name='Second Admin')
    disabled = await create_member(admin, role=Role.ADMIN, name='Away Admin')
    await User.filter(id=disabled.id).update(is_enabled=False)
    await create_member(admin, name='Just Member')
    await default_card(services, admin, token)
    crossing = (await consume(services, admin, 600, 'below')).body['entry']['id']
    await services.billing.auto_top_ups.drain()

    account = await account_of(admin)
    assert (account.auto_topup_error, account.token_balance, account.auto_topup_below) == (reason, 900, 1000)
    assert await ledger(admin) == [('grant', 1500), ('consumption', -600)]
    [failed] = await bought(services, admin)
    assert failed['status'] == 'requires_payment_method'
    assert failed['last_payment_error']['decline_code'] == ('generic_decline' if token == 'tok_chargeCustomerFail'
                                                            else 'authentication_required')  # fmt: skip
    subject = f'Auto top-up for {admin.organization.name} was switched off'
    mails = await mails_to_arrive(2, subject)
    assert sorted(mail.recipient for mail in mails) == sorted(
        user.email for user in await User.filter(organization_id=admin.organization_id, role=Role.ADMIN,
                                                 is_enabled=True))  # fmt: skip
    assert reason in mails[0].text and 'could not buy 2 token packs' in mails[0].text
    overview = await services.billing.subscriptions.overview(session=await session_of(admin))
    assert overview.auto_top_up.line == f'Auto top-up was switched off: {reason}'

    assert await services.billing.auto_top_ups.top_up(admin.organization_id, crossing) == 'off'  # the task again
    await consume(services, admin, 100, 'while off')  # switched off: no crossing
    await services.billing.auto_top_ups.drain()
    await asyncio.sleep(0.2)  # a second mail, if one were sent, would be in the outbox by now
    assert await OutboxMail.filter(subject=subject).count() == 2
    assert len(await bought(services, admin)) == 1
    assert (
        await AuditEvent.filter(organization_id=admin.organization_id, action='billing.auto_top_up_failed').count() == 1
    )

    await default_card(services, admin, 'tok_visa')  # a working card, then saving turns it on again
    status = await services.billing.auto_top_ups.save(session=await session_of(admin), below=1000, packs=2,
                                                      monthly_cap=3)  # fmt: skip
    assert status.on and status.error == '' and status.line.startswith('Auto top-up buys 2 packs')
    await consume(services, admin, 100, 'on again')
    await services.billing.auto_top_ups.drain()
    assert (await account_of(admin)).token_balance == 2700 and len(await bought(services, admin)) == 2


async def test_the_settings_are_checked_field_by_field_and_nothing_is_saved(services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible')
    session = await session_of(admin)
    saves = services.billing.auto_top_ups.save
    for below, packs, cap, wrong in (
        (0, 0, 0, {'below', 'packs', 'monthly_cap'}),
        (2.5, 101, 32, {'below', 'packs', 'monthly_cap'}),
        ('lots', None, True, {'below', 'packs', 'monthly_cap'}),
        (500, 100, 31, set()),
        (500, 1, 32, {'monthly_cap'}),
        (-1, 1, 1, {'below'}),
    ):
        before = await account_of(admin)
        if not wrong:
            assert (await saves(session=session, below=below, packs=packs, monthly_cap=cap)).on
            continue
        with pytest.raises(ValidationFailed) as refused:
            await saves(session=session, below=below, packs=packs, monthly_cap=cap)
        assert set(refused.value.errors) == wrong, (below, packs, cap)
        after = await account_of(admin)
        assert (after.auto_topup_below, after.auto_topup_packs, after.auto_topup_monthly_cap) == (
            before.auto_topup_below, before.auto_topup_packs, before.auto_topup_monthly_cap)  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        await saves(session=session, below=10, packs=200, monthly_cap=3)
    assert refused.value.errors == {'packs': 'Choose from 1 to 100 packs, as "+ Add tokens" allows.'}

    account = await account_of(admin)
    await services.billing.gateway.call('customers', 'update', account.stripe_customer_id,
                                        invoice_settings={'default_payment_method': ''})  # fmt: skip
    offer = await services.billing.auto_top_ups.offer(session=session)
    assert (offer.card_brand, offer.status.below, offer.pack_price) == ('', 500, 1000)
    with pytest.raises(PermissionDenied, match='add a card in "Payment methods" first') as no_card:
        await saves(session=session, below=700, packs=1, monthly_cap=1)
    assert str(no_card.value) == NO_CARD
    assert (await account_of(admin)).auto_topup_below == 500
    assert (await services.billing.auto_top_ups.turn_off(session=session)).line == ''
    assert (await account_of(admin)).auto_topup_below is None

    starter = await subscribed(services, emulator_app, plan='starter')
    with pytest.raises(PermissionDenied, match=NOT_HERE):
        await saves(session=await session_of(starter), below=700, packs=1, monthly_cap=1)
    overview = await services.billing.subscriptions.overview(session=await session_of(starter))
    assert overview.auto_top_up is None


async def test_only_an_enabled_admin_of_the_organization_changes_it(services, emulator_app) -> None:
    admin = await flexible(services, emulator_app, tokens=100, below=50, packs=1)
    member = await create_member(admin)
    disabled = await create_member(admin, role=Role.ADMIN)
    disabled_session = await session_of(disabled)
    await User.filter(id=disabled.id).update(is_enabled=False)
    top_ups, before = services.billing.auto_top_ups, await account_of(admin)
    for session, refusal in ((await session_of(member), PermissionDenied), (disabled_session, NotAuthenticated),
                             (None, NotAuthenticated)):  # fmt: skip
        with pytest.raises(refusal):
            await top_ups.save(session=session, below=5, packs=9, monthly_cap=9)
        with pytest.raises(refusal):
            await top_ups.turn_off(session=session)
        with pytest.raises(refusal):
            await top_ups.offer(session=session)
    after = await account_of(admin)
    assert (after.auto_topup_below, after.auto_topup_packs, after.auto_topup_monthly_cap) == (50, 1, 3)
    assert (before.auto_topup_below, before.auto_topup_packs) == (50, 1)


# ----- the dialog, through NiceGUI's simulated user -------------------------------------------------------------


async def test_the_dialog_shows_errors_next_to_its_fields_and_saving_shows_the_settings(user: UserSim) -> None:
    admin = await create_admin('Top-up Org')
    services: Services = app.state.services
    account = await services.billing.customers.ensure(admin.organization)
    gateway = services.billing.gateway
    card = await gateway.call('payment_methods', 'create', type='card', card={'token': 'tok_visa'})
    await gateway.call('payment_methods', 'attach', card['id'], customer=account.stripe_customer_id)
    await gateway.call('customers', 'update', account.stripe_customer_id,
                       invoice_settings={'default_payment_method': card['id']})  # fmt: skip
    await SubscriptionMirror.create(organization_id=admin.organization_id, stripe_subscription_id='sub_topup',
                                    plan_id='flexible', interval='month', status='active', seats=3)  # fmt: skip
    await log_in(user, admin.email)
    click(user, 'Auto top-up')
    await user.should_see('with Visa ending in 4242', retries=30)  # the dialog opens once Stripe has answered
    fields = number_fields(user)
    assert set(fields) == {'Top up below (tokens)', 'Packs to buy', 'Top-ups per month, at most'}
    fields['Packs to buy'].value = 2
    await user.should_see('2 packs: 2,000 tokens for $20.00')
    fields['Top up below (tokens)'].value = 0
    fields['Packs to buy'].value = 101
    fields['Top-ups per month, at most'].value = 2.5
    click(user, 'Save')
    await user.should_see('Enter a whole number of tokens, at least 1.', retries=20)
    assert fields['Packs to buy'].error == 'Choose from 1 to 100 packs, as "+ Add tokens" allows.'
    assert fields['Top-ups per month, at most'].error == 'Choose from 1 to 31 top-ups a month.'
    assert (await BillingAccount.get(organization_id=admin.organization_id)).auto_topup_below is None

    fields['Top up below (tokens)'].value = 500
    fields['Packs to buy'].value = 2
    fields['Top-ups per month, at most'].value = 4
    click(user, 'Save')
    await user.should_see('Auto top-up buys 2 packs (2,000 tokens) with the default card when fewer than 500 are '
                          'left, at most 4 times a month.', retries=20)  # fmt: skip
    saved = await BillingAccount.get(organization_id=admin.organization_id)
    assert (saved.auto_topup_below, saved.auto_topup_packs, saved.auto_topup_monthly_cap) == (500, 2, 4)

    click(user, 'Auto top-up')
    await user.should_see('Turn off', retries=30)
    click(user, 'Turn off')
    await user.should_see('Auto top-up is off.', retries=20)
    assert (await BillingAccount.get(organization_id=admin.organization_id)).auto_topup_below is None


def number_fields(user: UserSim) -> dict[str, ui.number]:
    return {field.props.get('label'): field for field in user.find(kind=ui.number).elements}

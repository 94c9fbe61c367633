"""Managing a live subscription against the emulator: money moves once, previews match invoices to the cent."""

import asyncio
import time

import pytest

from db.models import BillingAccount, SubscriptionMirror, TokenLedgerEntry, User
from services.billing.gateway import PaymentFailed
from services.container import Services
from services.errors import PermissionDenied, ValidationFailed
from services.forms import UserForm
from services.users import SeatsExhausted
from tests.billing_helpers import bought, deliver, events_of, pay, subscribed
from tests.helpers import create_admin, create_member, session_of


async def stripe_subscription(services: Services, admin) -> dict:
    mirror = await SubscriptionMirror.get(organization_id=admin.organization_id)
    return await services.billing.gateway.call('subscriptions', 'retrieve', mirror.stripe_subscription_id)


async def invoices_of(services: Services, admin) -> list[dict]:
    account = await BillingAccount.get(organization_id=admin.organization_id)
    return await services.billing.gateway.list_all('invoices', customer=account.stripe_customer_id)


@pytest.mark.parametrize(
    ('start', 'change'),
    [
        (('starter', 'month', 2), ('professional', 'month', 2)),  # upgrade
        (('professional', 'month', 3), ('starter', 'month', 3)),  # downgrade: a credit
        (('flexible', 'month', 2), ('flexible', 'month', 5)),  # seat increase
        (('flexible', 'month', 2), ('flexible', 'year', 2)),  # interval change
    ],
    ids=['upgrade', 'downgrade', 'seat-increase', 'interval-change'],
)
async def test_the_preview_matches_the_invoice_to_the_cent(services: Services, emulator_app, start, change) -> None:
    admin = await subscribed(services, emulator_app, plan=start[0], interval=start[1], seats=start[2])
    await asyncio.sleep(1.1)  # some seconds of the period have passed, so the proration is not trivial
    me = await session_of(admin)
    plan_id, interval, seats = change
    preview = await services.billing.subscriptions.preview_change(
        session=me, plan_id=plan_id, interval=interval, seats=seats
    )
    before = {invoice['id'] for invoice in await invoices_of(services, admin)}
    mirror = await services.billing.subscriptions.apply_change(
        session=me, plan_id=plan_id, interval=interval, seats=seats
    )
    [invoice] = [invoice for invoice in await invoices_of(services, admin) if invoice['id'] not in before]
    assert invoice['amount_due'] == preview.due_today
    assert invoice['total'] == sum(line['amount'] for line in invoice['lines']['data'])
    assert (mirror.plan_id, mirror.interval, mirror.seats) == change
    assert preview.next_amount == services.billing.catalog.get(plan_id).price(interval) * seats


async def test_a_double_clicked_confirm_and_a_retry_change_stripe_once(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible', seats=2)
    me = await session_of(admin)
    invoices_before = len(await invoices_of(services, admin))
    # Both clicks come from one "+ Add seats" form, which asks for 1 seat on top of the 2 it showed.
    results = await asyncio.gather(
        services.billing.subscriptions.add_seats(session=me, seats_to_add=1, from_seats=2),
        services.billing.subscriptions.add_seats(session=me, seats_to_add=1, from_seats=2),
        return_exceptions=True,
    )
    assert all(isinstance(result, SubscriptionMirror) for result in results), results
    assert (await stripe_subscription(services, admin))['items']['data'][0]['quantity'] == 3
    assert len(await invoices_of(services, admin)) == invoices_before + 1
    # A late third click, after the change landed, changes nothing either.
    assert (await services.billing.subscriptions.add_seats(session=me, seats_to_add=1, from_seats=2)).seats == 3
    assert len(await invoices_of(services, admin)) == invoices_before + 1
    # A retry of the same confirmed change (3 seats) after it landed changes nothing either.
    with pytest.raises(ValidationFailed, match='current subscription'):
        await services.billing.subscriptions.apply_change(session=me, plan_id='flexible', interval='month', seats=3)
    assert len(await invoices_of(services, admin)) == invoices_before + 1


async def test_two_different_changes_at_once_never_both_act_on_the_old_seats(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible', seats=2)
    me = await session_of(admin)
    results = await asyncio.gather(
        services.billing.subscriptions.add_seats(session=me, seats_to_add=1, from_seats=2),
        services.billing.subscriptions.add_seats(session=me, seats_to_add=2, from_seats=2),
        return_exceptions=True,
    )
    [landed] = [result for result in results if isinstance(result, SubscriptionMirror)]
    [refused] = [result for result in results if isinstance(result, ValidationFailed)]
    assert landed.seats in (3, 4)
    assert f'now has {landed.seats} seats' in str(refused)
    assert (await stripe_subscription(services, admin))['items']['data'][0]['quantity'] == landed.seats
    # Two separate requests without a shared view of the seats both count.
    await services.billing.subscriptions.add_seats(session=me, seats_to_add=1)
    assert (await services.billing.subscriptions.add_seats(session=me, seats_to_add=1)).seats == landed.seats + 2


async def test_a_declined_card_on_a_seat_increase_leaves_the_seats_unchanged(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app, plan='professional', seats=2)
    account = await BillingAccount.get(organization_id=admin.organization_id)
    gateway = services.billing.gateway
    declining = await gateway.call(
        'payment_methods', 'create', type='card', card={'token': 'tok_chargeCustomerFail'}
    )  # attaches, then declines
    await gateway.call('payment_methods', 'attach', declining['id'], customer=account.stripe_customer_id)
    await services.billing.payment_methods.make_default(session=await session_of(admin), card_id=declining['id'])
    subscription_id = (await SubscriptionMirror.get(organization_id=admin.organization_id)).stripe_subscription_id
    await gateway.call('subscriptions', 'update', subscription_id, default_payment_method=declining['id'])
    with pytest.raises(PaymentFailed, match='declined'):
        await services.billing.subscriptions.add_seats(session=await session_of(admin), seats_to_add=3)
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).seats == 2
    assert (await stripe_subscription(services, admin))['items']['data'][0]['quantity'] == 2
    # With a working card again, the same request goes through: the refusal was not replayed.
    good = await gateway.call('payment_methods', 'create', type='card', card={'token': 'tok_visa'})
    await gateway.call('payment_methods', 'attach', good['id'], customer=account.stripe_customer_id)
    await gateway.call('subscriptions', 'update', subscription_id, default_payment_method=good['id'])
    assert (await services.billing.subscriptions.add_seats(session=await session_of(admin), seats_to_add=3)).seats == 5


async def test_a_downgrade_below_the_enabled_users_is_refused(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app, plan='professional', seats=3)
    await create_member(admin)
    await create_member(admin)
    with pytest.raises(ValidationFailed, match='at least 3 seats: 3 users are enabled'):
        await services.billing.subscriptions.preview_change(
            session=await session_of(admin), plan_id='professional', interval='month', seats=2
        )
    with pytest.raises(ValidationFailed):
        await services.billing.subscriptions.apply_change(
            session=await session_of(admin), plan_id='starter', interval='month', seats=2
        )
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).seats == 3


async def test_tokens_are_credited_once_when_webhook_and_return_page_both_arrive_twice(
    services: Services, emulator_app
) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible')
    url = await services.billing.tokens.start_checkout(session=await session_of(admin), packs=3)
    response = await pay(emulator_app, url)
    session_id = response.headers['location'].split('checkout_session=')[1]
    completed = [e for e in await events_of(services, 'checkout.session.completed')
                 if e['data']['object']['id'] == session_id]  # fmt: skip
    for _ in range(2):
        await services.billing.checkouts.fulfill(session_id, organization_id=admin.organization_id)
        assert (await deliver(services, completed[0])).status == 200
    account = await BillingAccount.get(organization_id=admin.organization_id)
    assert account.token_balance == 3 * 1000
    [entry] = await TokenLedgerEntry.filter(organization_id=admin.organization_id)
    assert (entry.delta, entry.kind, entry.checkout_session_id) == (3000, 'purchase', session_id)
    [history] = await services.billing.tokens.history(session=await session_of(admin))
    assert history.delta == 3000


async def test_tokens_are_refused_outside_flexible_and_outside_1_to_100_packs(services: Services, emulator_app) -> None:
    starter = await subscribed(services, emulator_app, plan='starter')
    with pytest.raises(PermissionDenied, match='Flexible'):
        await services.billing.tokens.start_checkout(session=await session_of(starter), packs=1)
    flexible = await subscribed(services, emulator_app, plan='flexible')
    for packs in (0, 101):
        with pytest.raises(ValidationFailed, match='1 to 100 packs'):
            await services.billing.tokens.start_checkout(session=await session_of(flexible), packs=packs)


async def test_leaving_flexible_with_tokens_warns_plainly(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible')
    await BillingAccount.filter(organization_id=admin.organization_id).update(token_balance=2500)
    preview = await services.billing.subscriptions.preview_change(
        session=await session_of(admin), plan_id='professional', interval='month', seats=2
    )
    assert preview.warning == (
        'You have 2,500 unused tokens. They stay on your balance, but they cannot be spent on Professional. '
        'They become usable again if you return to Flexible.'
    )


async def test_the_last_card_cannot_be_removed_while_subscribed(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app)
    [card] = await services.billing.payment_methods.cards(session=await session_of(admin))
    assert card.is_default and card.last4 == '4242'
    with pytest.raises(PermissionDenied, match='only card'):
        await services.billing.payment_methods.remove(session=await session_of(admin), card_id=card.id)
    assert len(await services.billing.payment_methods.cards(session=await session_of(admin))) == 1


async def test_cards_are_edited_made_default_and_removed(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app)
    me = await session_of(admin)
    account = await BillingAccount.get(organization_id=admin.organization_id)
    gateway = services.billing.gateway
    second = await gateway.call('payment_methods', 'create', type='card', card={'token': 'tok_mastercard'})
    await gateway.call('payment_methods', 'attach', second['id'], customer=account.stripe_customer_id)
    with pytest.raises(ValidationFailed) as failure:
        await services.billing.payment_methods.update(session=me, card_id=second['id'],
                                                     values={'exp_month': 13, 'exp_year': 2001})  # fmt: skip
    assert set(failure.value.errors) == {'exp_month', 'exp_year'}
    edited = await services.billing.payment_methods.update(
        session=me, card_id=second['id'],
        values={'exp_month': 7, 'exp_year': 2031, 'name': 'Mia Card', 'address': {'city': 'Utrecht', 'country': 'nl'}},
    )  # fmt: skip
    assert (edited.exp_month, edited.exp_year, edited.name, edited.address['country']) == (7, 2031, 'Mia Card', 'NL')
    await services.billing.payment_methods.make_default(session=me, card_id=second['id'])
    cards = {card.id: card for card in await services.billing.payment_methods.cards(session=me)}
    assert cards[second['id']].is_default and sum(card.is_default for card in cards.values()) == 1
    first = next(card for card in cards.values() if card.id != second['id'])
    await services.billing.payment_methods.remove(session=me, card_id=first.id)
    assert [card.id for card in await services.billing.payment_methods.cards(session=me)] == [second['id']]
    stranger = await create_admin('Stranger')
    with pytest.raises(PermissionDenied):
        await services.billing.payment_methods.remove(session=await session_of(stranger), card_id=second['id'])


async def test_cancel_then_remove_the_scheduled_cancellation(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app)
    me = await session_of(admin)
    cancelled = await services.billing.subscriptions.cancel(session=me, reason='Too expensive for us')
    assert cancelled.cancel_at_period_end
    subscription = await stripe_subscription(services, admin)
    assert subscription['cancellation_details']['comment'] == 'Too expensive for us'
    with pytest.raises(PermissionDenied, match='Remove the scheduled cancellation'):
        await services.billing.subscriptions.preview_add_seats(session=me, seats_to_add=1)
    restored = await services.billing.subscriptions.remove_cancellation(session=me)
    assert not restored.cancel_at_period_end and restored.cancel_at is None
    # A cancel_at set elsewhere (say, in Stripe's dashboard) is removed too.
    await services.billing.gateway.call('subscriptions', 'update', subscription['id'],
                                        cancel_at=int(time.time()) + 5 * 86400)  # fmt: skip
    await services.billing.resync.sync(subscription)
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).cancel_at is not None
    assert (await services.billing.subscriptions.remove_cancellation(session=me)).cancel_at is None


async def test_the_end_of_the_period_reverts_the_organization_to_the_trial(services: Services, emulator_app) -> None:
    gateway = services.billing.gateway
    admin = await create_admin()
    clock = await gateway.call('test_helpers.test_clocks', 'create', frozen_time=int(time.time()))
    customer = await gateway.call('customers', 'create', name='Clocked', test_clock=clock['id'])
    await BillingAccount.create(organization_id=admin.organization_id, stripe_customer_id=customer['id'])
    _, session_id = await bought(services, emulator_app, plan='professional', seats=5, admin=admin)
    await services.billing.checkouts.fulfill(session_id)
    for number in range(4):
        await create_member(admin, name=f'Member {number}')  # 5 enabled users on 5 seats
    await services.billing.subscriptions.cancel(session=await session_of(admin))
    await gateway.call('test_helpers.test_clocks', 'advance', clock['id'], frozen_time=int(time.time()) + 40 * 86400)
    [deleted] = await events_of(services, 'customer.subscription.deleted')
    assert (await deliver(services, deleted)).status == 200
    overview = await services.billing.subscriptions.overview(session=await session_of(admin))
    assert not overview.subscribed and overview.seat_limit == 3
    assert await User.filter(organization_id=admin.organization_id).count() == 5  # existing users stay
    member = await User.filter(organization_id=admin.organization_id, role='member').first()
    await services.users.set_enabled(session=await session_of(admin), user_id=member.id, enabled=False)
    with pytest.raises(SeatsExhausted, match='All 3 seats are taken'):
        await services.users.set_enabled(session=await session_of(admin), user_id=member.id, enabled=True)
    with pytest.raises(SeatsExhausted):
        await services.users.add(
            session=await session_of(admin), form=UserForm(name='New', email='new@example.com', role='member')
        )


async def test_billing_history_pages_through_300_invoices_20_at_a_time(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible', seats=1)
    subscription = await stripe_subscription(services, admin)
    item = subscription['items']['data'][0]['id']
    for quantity in range(2, 301):  # each always_invoice update makes one invoice: 299 + the first = 300
        await services.billing.gateway.call('subscriptions', 'update', subscription['id'],
                                             items=[{'id': item, 'quantity': quantity}],
                                             proration_behavior='always_invoice')  # fmt: skip
    seen, cursor, pages = [], None, 0
    while True:
        page = await services.billing.invoices.page(session=await session_of(admin), starting_after=cursor)
        assert len(page.rows) <= 20
        seen += page.rows
        pages += 1
        if not page.has_more:
            break
        cursor = page.rows[-1].id
    assert (len(seen), pages, len({row.id for row in seen})) == (300, 15, 300)
    assert [row.created for row in seen] == sorted((row.created for row in seen), reverse=True)
    assert all(row.hosted_url and row.pdf_url and row.number for row in seen)


async def test_every_billing_action_is_audited_with_the_amounts_shown(services: Services, emulator_app) -> None:
    from db.models import AuditEvent

    admin = await subscribed(services, emulator_app, plan='flexible', seats=2)
    await services.billing.subscriptions.add_seats(session=await session_of(admin), seats_to_add=1)
    await services.billing.subscriptions.cancel(session=await session_of(admin), reason='Moving on')
    events = {event.action: event for event in await AuditEvent.filter(organization_id=admin.organization_id)}
    assert events['billing.checkout_started'].after['total'] == '$20.00'
    assert events['billing.subscription_changed'].after['charged_today'].startswith('$')
    assert events['billing.cancellation_scheduled'].after['reason'] == 'Moving on'
    completed = events['billing.checkout_completed.subscription']
    assert (completed.actor_name, completed.after['total'], completed.after['plan']) == ('Stripe', '$20.00', 'flexible')


async def test_the_same_token_purchase_twice_is_two_purchases(services: Services, emulator_app) -> None:
    """Once a token checkout is paid, asking again for the same packs opens a new checkout, not the paid one."""
    admin = await subscribed(services, emulator_app, plan='flexible')
    session_ids = []
    for _ in range(2):
        url = await services.billing.tokens.start_checkout(session=await session_of(admin), packs=2)
        assert url == await services.billing.tokens.start_checkout(
            session=await session_of(admin), packs=2
        )  # double click
        response = await pay(emulator_app, url)
        session_ids.append(response.headers['location'].split('checkout_session=')[1])
        await services.billing.checkouts.fulfill(session_ids[-1], organization_id=admin.organization_id)
    assert session_ids[0] != session_ids[1]
    assert (await BillingAccount.get(organization_id=admin.organization_id)).token_balance == 2 * 2000
    assert await TokenLedgerEntry.filter(organization_id=admin.organization_id).count() == 2


async def test_a_second_card_can_be_added_right_after_the_first(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app)
    me = await session_of(admin)
    for card in ('5555 5555 5555 4444', '4000 0566 5566 5556'):
        url = await services.billing.payment_methods.add(session=me)
        response = await pay(emulator_app, url, card=card)
        assert response.status_code == 303, response.text
        await services.billing.checkouts.fulfill(response.headers['location'].split('checkout_session=')[1])
    cards = await services.billing.payment_methods.cards(session=me)
    assert sorted(card.last4 for card in cards) == ['4242', '4444', '5556']
    assert [card.last4 for card in cards if card.is_default] == ['4242']  # the first card stays the default


async def test_only_the_newest_subscription_checkout_can_be_paid(services: Services, emulator_app) -> None:
    """Two tabs, two plans: paying the older checkout must not buy a second subscription."""
    admin = await create_admin()
    me = await session_of(admin)
    older = await services.billing.checkouts.start_subscription(
        session=me, plan_id='starter', interval='month', seats=2
    )
    newer = await services.billing.checkouts.start_subscription(
        session=me, plan_id='professional', interval='month', seats=2
    )
    assert older != newer
    refused = await pay(emulator_app, older)
    assert refused.status_code != 303
    paid = await pay(emulator_app, newer)
    assert paid.status_code == 303
    await services.billing.checkouts.fulfill(paid.headers['location'].split('session_id=')[1])
    account = await BillingAccount.get(organization_id=admin.organization_id)
    subscriptions = await services.billing.gateway.list_all('subscriptions', customer=account.stripe_customer_id)
    assert [s['items']['data'][0]['price']['lookup_key'] for s in subscriptions] == ['portico_professional_monthly']


async def test_the_downgrade_credit_shown_is_the_credit_on_the_invoice(services: Services, emulator_app) -> None:
    admin = await subscribed(services, emulator_app, plan='professional', interval='month', seats=3)
    await asyncio.sleep(1.1)
    me = await session_of(admin)
    preview = await services.billing.subscriptions.preview_change(
        session=me, plan_id='starter', interval='month', seats=3
    )
    before = {invoice['id'] for invoice in await invoices_of(services, admin)}
    await services.billing.subscriptions.apply_change(session=me, plan_id='starter', interval='month', seats=3)
    [invoice] = [invoice for invoice in await invoices_of(services, admin) if invoice['id'] not in before]
    assert preview.due_today == invoice['amount_due'] == 0
    assert preview.credit == -invoice['total'] > 0


async def test_each_checkout_says_what_it_did_on_return(services: Services, emulator_app) -> None:
    """Issue 14, point 3: the toast after Checkout names what happened, not "Checkout complete"."""
    admin, session_id = await bought(services, emulator_app, plan='flexible', seats=1)
    checkouts, session = services.billing.checkouts, await session_of(admin)
    await checkouts.fulfill(session_id)
    assert (
        await checkouts.completion_message(session=session, checkout_session_id=session_id) == 'Subscription started.'
    )
    url = await services.billing.tokens.start_checkout(session=session, packs=3)
    response = await pay(emulator_app, url)
    tokens_session = response.headers['location'].split('checkout_session=')[1]
    assert await checkouts.completion_message(session=session, checkout_session_id=tokens_session) == (
        '3,000 tokens added.')  # fmt: skip
    card_url = await services.billing.payment_methods.add(session=session)
    card_session = (await pay(emulator_app, card_url)).headers['location'].split('checkout_session=')[1]
    assert await checkouts.completion_message(session=session, checkout_session_id=card_session) == 'Card saved.'
    stranger = await session_of(await create_admin('Other Org'))
    with pytest.raises(PermissionDenied):
        await checkouts.completion_message(session=stranger, checkout_session_id=card_session)

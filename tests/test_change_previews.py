"""Issue 14, point 9: each preview of a change names the card it charges, and a prorated amount says which period it
covers and what for, from the lines of Stripe's upcoming invoice (the emulator behind the real SDK)."""

import asyncio
import math
import re

from nicegui import ui
from nicegui.testing import User as UserSim

from db.models import BillingAccount, SubscriptionMirror
from services.billing.previews import amounts, explanation
from services.container import Services
from services.moments import long_date, now
from services.plans import Interval
from tests.billing_helpers import subscribed
from tests.helpers import click, session_of
from tests.test_lifecycle_page import menu_entry, subscribed_page
from tests.test_subscription_page import emulator_client


async def should_see_line(user: UserSim, pattern: str, retries: int = 40) -> None:
    """A label on the page whose whole text matches `pattern` (the simulated user matches parts of texts only)."""
    for _ in range(retries):
        if any(re.fullmatch(pattern, label.text) for label in user.find(kind=ui.label).elements):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f'no label reads {pattern!r}')


async def days_left_until(organization_id: int) -> tuple[int, str]:
    """The whole days left in the current period (a part of a day counts as one), and the day it ends."""
    end = (await SubscriptionMirror.get(organization_id=organization_id)).current_period_end
    return math.ceil((end - now()).total_seconds() / 86400), long_date(end)


async def test_edit_subscription_names_the_card_and_the_period_a_prorated_charge_covers(user: UserSim) -> None:
    admin = await subscribed_page(user, seats=4)  # Professional, monthly, 4 seats, paid with 4242
    menu_entry(user, 'Edit subscription').click()
    await user.should_see('Billing interval', retries=20)
    [seats] = user.find(kind=ui.number).elements
    seats.value = 6
    await should_see_line(user, r'Charged today: \$\d+\.\d\d')
    days, end = await days_left_until(admin.organization_id)
    await user.should_see(f'For the {days} days left until {end}: Professional, 6 seats, less what is left of '
                          'Professional, 4 seats.')  # fmt: skip
    await user.should_see('Charged to Visa ending in 4242.')
    await should_see_line(user, r'Professional, 6 seats: \$\d+\.\d\d')  # each line in the same words
    await should_see_line(user, r'What is left of Professional, 4 seats: -\$\d+\.\d\d')
    stripe_words = [label.text for label in user.find(kind=ui.label).elements if ' after ' in label.text]
    assert not stripe_words  # no "Remaining time on 6 × Professional after 1 Dec 2026" in another date style

    seats.value = 3  # cheaper: at the period's end by default, nothing today, and the same card from then
    await user.should_see('Nothing is charged or credited today.', retries=40)
    await user.should_see(f'From {end}: Professional, 3 seats, $36.00 monthly.')
    await user.should_see('Charged to Visa ending in 4242.')


async def test_add_seats_says_1_seat_and_names_the_card(user: UserSim) -> None:
    admin = await subscribed_page(user, seats=1)
    click(user, '+ Add seats')
    await user.should_see('You have 1 seat; your plan allows up to 500.', retries=20)
    await user.should_see('You will have 2 seats.')
    await should_see_line(user, r'Charged today: \$\d+\.\d\d')
    days, end = await days_left_until(admin.organization_id)
    await user.should_see(f'For the {days} days left until {end}: Professional, 2 seats, less what is left of '
                          'Professional, 1 seat.')  # fmt: skip
    await user.should_see('Charged to Visa ending in 4242.')


async def test_a_preview_without_a_card_says_so(user: UserSim) -> None:
    admin = await subscribed_page(user, seats=2)
    account = await BillingAccount.get(organization_id=admin.organization_id)
    client = emulator_client()
    [card] = (await client.v1.customers.payment_methods.list_async(account.stripe_customer_id)).data
    await client.v1.payment_methods.detach_async(card.id)  # as someone might in Stripe's dashboard
    click(user, '+ Add seats')
    await should_see_line(user, r'Charged today: \$\d+\.\d\d')
    await user.should_see('No card on file: add one in "Payment methods".')
    await user.should_not_see('Charged to Visa')


async def test_an_interval_change_explains_the_new_period_less_what_is_left_of_the_old(
    services: Services, emulator_app
) -> None:
    admin = await subscribed(services, emulator_app, plan='flexible', interval='month', seats=2)
    await asyncio.sleep(1.1)  # some seconds of the period have passed
    preview = await services.billing.subscriptions.preview_change(
        session=await session_of(admin), plan_id='flexible', interval='year', seats=2
    )
    days, old_end = await days_left_until(admin.organization_id)
    today = long_date(now())
    year_on = long_date(now().replace(year=now().year + 1))
    assert preview.explanation == (
        f'From {today} to {year_on}: Flexible, yearly, 2 seats, less what is left of Flexible, monthly, 2 seats, '
        f'for the {days} days left until {old_end}.'
    )
    assert [re.sub(r'\$[\d,.]+', '$…', line) for line in preview.lines] == [
        'Flexible, yearly, 2 seats: $…',
        'What is left of Flexible, monthly, 2 seats: -$…',
    ]
    assert preview.card is not None and (preview.card.brand, preview.card.last4) == ('Visa', '4242')


async def test_the_card_named_is_the_one_the_subscription_charges(services: Services, emulator_app) -> None:
    """Stripe charges a subscription's own default card before the customer's: the preview names that one."""
    admin = await subscribed(services, emulator_app, plan='professional', seats=2)  # paid with 4242
    account = await BillingAccount.get(organization_id=admin.organization_id)
    gateway = services.billing.gateway
    other = await gateway.call('payment_methods', 'create', type='card', card={'token': 'tok_mastercard'})
    await gateway.call('payment_methods', 'attach', other['id'], customer=account.stripe_customer_id)
    await gateway.call('customers', 'update', account.stripe_customer_id,
                       invoice_settings={'default_payment_method': other['id']})  # fmt: skip
    preview = await services.billing.subscriptions.preview_add_seats(session=await session_of(admin), seats_to_add=1)
    assert (preview.card.brand, preview.card.last4) == ('Visa', '4242')


def test_a_line_of_a_price_portico_does_not_know_keeps_stripes_words_and_no_sentence_is_guessed() -> None:
    line = {'amount': 1200, 'description': 'Remaining time on Custom after 1 Dec 2026', 'quantity': 1,
            'period': {'start': 1796162791, 'end': 1798841190},
            'parent': {'subscription_item_details': {'proration': True}},
            'pricing': {'price_details': {'price': 'price_made_elsewhere'}}}  # fmt: skip
    known = {'price_known': ('Professional', Interval.MONTH)}
    assert explanation([line], known) is None
    assert amounts([line], known, 'usd') == ['Remaining time on Custom after 1 Dec 2026: $12.00']
    line['pricing']['price_details']['price'] = 'price_known'
    assert explanation([line], known) == 'For the 31 days left until January 1, 2027: Professional, 1 seat.'

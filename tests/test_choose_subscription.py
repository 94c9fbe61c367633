""" "Choose subscription" through the simulated user: each question in one step, and the saving of paying yearly.

The steps' layout (prices lined up, nothing wider than a phone) is in test_browser_billing.py.
"""

import dataclasses
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing import User as UserSim

from services.container import PLANS_FILE
from services.plans import Interval, load_catalog, saving
from tests.helpers import click, create_admin, create_member, log_in

PLAN_STEP, QUESTIONS_STEP, REVIEW_STEP = 'Plan', 'Seats and billing interval', 'Review'


def texts_in(element: ui.element) -> list[str]:
    return [text for child in element.descendants() if (text := getattr(child, 'text', None))]


def card(user: UserSim, plan: str) -> ui.element:
    [found] = [element for element in user.find(kind=ui.card).elements if element.props.get('aria-label') == plan]
    return found


def step(user: UserSim, name: str) -> ui.element:
    [found] = [element for element in user.find(kind=ui.step).elements if element.props['name'] == name]
    return found


def questions(user: UserSim) -> dict[str, list[ui.element]]:
    """Where the page asks for the interval and the seats: the step of each toggle and "Seats" field."""
    asked: dict[str, list[ui.element]] = {'interval': [], 'seats': []}
    for name in (PLAN_STEP, QUESTIONS_STEP, REVIEW_STEP):
        for child in step(user, name).descendants():
            if isinstance(child, ui.toggle):
                asked['interval'].append(name)
            elif isinstance(child, ui.number) and child.props.get('label') == 'Seats':
                asked['seats'].append(name)
    return asked


async def choose(user: UserSim, *, members: int = 0) -> None:
    admin = await create_admin()
    for number in range(members):
        await create_member(admin, name=f'Member {number}')
    await log_in(user, admin.email)
    await user.open('/admin/subscriptions')
    await user.should_see('Select Flexible')


async def test_the_plans_step_shows_each_plans_prices_with_the_saving_of_paying_yearly(user: UserSim) -> None:
    await choose(user)
    for plan, monthly, yearly in (('Starter', '$6.00', '$60.00'), ('Professional', '$12.00', '$120.00'),
                                  ('Flexible', '$10.00', '$100.00')):  # fmt: skip
        texts = texts_in(card(user, plan))
        assert f'{monthly} per seat / month' in texts, texts
        assert f'or {yearly} per seat / year' in texts, texts
        assert '2 months free' in texts, texts  # plans.toml: every yearly price is 10 monthly ones
        assert f'Select {plan}' in texts


async def test_each_question_is_asked_once_in_its_own_step(user: UserSim) -> None:
    await choose(user)
    assert questions(user) == {'interval': [], 'seats': []}  # the plans come first, on their own
    click(user, 'Select Flexible')
    await user.should_see('Flexible: $10.00 for 1 seat per month')
    assert questions(user) == {'interval': [QUESTIONS_STEP], 'seats': [QUESTIONS_STEP]}
    assert not [text for text in texts_in(step(user, QUESTIONS_STEP)) + texts_in(step(user, REVIEW_STEP))
                if text.startswith('Select ')]  # fmt: skip
    click(user, 'Continue')
    await user.should_see('Proceed to checkout')
    assert questions(user) == {'interval': [QUESTIONS_STEP], 'seats': [QUESTIONS_STEP]}  # the review only shows


async def test_the_interval_choice_shows_the_chosen_plans_saving_and_the_review_repeats_it(user: UserSim) -> None:
    await choose(user)
    click(user, 'Select Professional')
    await user.should_see('Yearly: 2 months free')
    [interval] = user.find(kind=ui.toggle).elements
    assert interval.options == {'month': 'Monthly', 'year': 'Yearly'}
    interval.value = 'year'  # what a click on "Yearly" does
    user.find(marker='seats').clear().type('3').trigger('blur')
    await user.should_see('Professional: $360.00 for 3 seats per year')
    click(user, 'Continue')
    review = texts_in(step(user, REVIEW_STEP))
    expected = {'Plan': 'Professional', 'Billing interval': 'Yearly', 'Seats': '3',
                'Price per seat': '$120.00 / year (2 months free)', 'Total per year': '$360.00'}  # fmt: skip
    for caption, value in expected.items():
        assert review[review.index(caption) + 1] == value, review


async def test_seats_are_asked_with_the_chosen_plans_range(user: UserSim) -> None:
    await choose(user, members=2)
    click(user, 'Select Starter')
    await user.should_see('At least 3: your enabled users.')
    [seats] = user.find(marker='seats').elements
    assert seats.props['hint'] == 'Starter: 3 to 10 seats'
    assert seats.value == 3
    user.find(marker='seats').clear().type('11').trigger('blur')
    click(user, 'Continue')
    await user.should_see('Starter takes 3 to 10 seats.')
    assert 'Proceed to checkout' not in texts_in(step(user, QUESTIONS_STEP))


@pytest.fixture
def discounted_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """plans.toml with yearly prices that are not ten monthly ones (request it before `user`)."""
    catalog = tmp_path / 'plans.toml'
    catalog.write_text(PLANS_FILE.read_text(encoding='utf-8').replace('yearly_price = 60.00', 'yearly_price = 61.20')
                       .replace('yearly_price = 120.00', 'yearly_price = 132.00'), encoding='utf-8')  # fmt: skip
    monkeypatch.setattr('services.container.PLANS_FILE', catalog)


async def test_the_saving_follows_the_catalogs_prices(discounted_catalog, user: UserSim) -> None:
    await choose(user)
    assert 'Save 15%' in texts_in(card(user, 'Starter'))  # 61.20 against 12 × 6.00 = 72.00
    assert '1 month free' in texts_in(card(user, 'Professional'))  # 132.00 = 11 × 12.00
    assert '2 months free' in texts_in(card(user, 'Flexible'))
    click(user, 'Select Starter')
    await user.should_see('Yearly: Save 15%')


# ----- the saving, from the catalog's prices ----------------------------------------------------------------------


def test_the_shipped_catalog_gives_two_months_free_on_every_yearly_price() -> None:
    for plan in load_catalog(PLANS_FILE).plans:
        assert saving(plan, 'year') == '2 months free', plan.id
        assert saving(plan, 'month') is None


@pytest.mark.parametrize(
    ('prices', 'interval', 'expected'),
    [
        ({'month': 1000, 'year': 10_000}, 'year', '2 months free'),
        ({'month': 1000, 'year': 11_000}, 'year', '1 month free'),
        ({'month': 1000, 'year': 10_200}, 'year', 'Save 15%'),
        ({'month': 1000, 'year': 10_300}, 'year', 'Save 14%'),  # 14.17%: never rounded up
        ({'month': 1000, 'year': 11_950}, 'year', None),  # under 1%
        ({'month': 1000, 'year': 12_000}, 'year', None),
        ({'month': 1000, 'year': 13_000}, 'year', None),  # dearer than monthly: no saving to show
        ({'month': 1000, 'quarter': 2850, 'year': 10_000}, 'quarter', 'Save 5%'),
        ({'month': 1000, 'quarter': 2000, 'year': 10_000}, 'quarter', '1 month free'),
    ],
)
def test_the_saving_against_monthly(prices: dict[str, int], interval: str, expected: str | None) -> None:
    starter = load_catalog(PLANS_FILE).get('starter')
    plan = dataclasses.replace(starter, prices={Interval(key): amount for key, amount in prices.items()})
    assert saving(plan, interval) == expected

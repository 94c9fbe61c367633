"""The guide's first-time purchase in headless Chromium, against `python main.py` with offline billing."""

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.conftest import ARTIFACTS, LiveServer
from tests.helpers import PASSWORD


async def logged_in(live_server: LiveServer, browser, email: str = 'owner@example.com', *, name: str = 'Olga Owner',
                    organization: str = 'Buyer Org', viewport: dict | None = None) -> Page:  # fmt: skip
    created = live_server.cli(
        'create-admin', '--organization', organization, '--name', name, '--email', email, '--password', PASSWORD
    )
    assert created.returncode == 0, created.stderr
    context = await browser.new_context(viewport=viewport or {'width': 1280, 'height': 1000})
    page = await context.new_page()
    await page.goto(f'{live_server.url}/login')
    await page.get_by_label('Email').fill(email)
    await page.get_by_label('Password').fill(PASSWORD)
    await page.get_by_role('button', name='Log in').click()
    await expect(page.get_by_text('Administration portal')).to_be_visible()
    return page


async def choose_flexible_yearly_5_seats(page: Page) -> None:
    await page.get_by_role('button', name='Choose subscription').click()
    await expect(page.get_by_role('button', name='Select Flexible')).to_be_visible()
    await expect(page.get_by_label('Seats')).to_have_count(0)  # step 1 asks for the plan only
    await page.screenshot(path=ARTIFACTS / 'billing-plans.png', full_page=True)
    await page.get_by_role('button', name='Select Flexible').click()
    await expect(page.get_by_role('button', name='Continue')).to_be_visible()
    await expect(page.get_by_role('button', name='Select Flexible')).to_have_count(0)  # the slide has ended
    await page.get_by_role('button', name='Yearly', exact=True).click()
    await expect(page.get_by_text('Yearly: 2 months free')).to_be_visible()
    seats = page.get_by_label('Seats')
    await seats.fill('5')
    await seats.blur()
    await expect(page.get_by_text('Flexible: $500.00 for 5 seats per year')).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'billing-stepper-seats.png', animations='disabled')
    await page.get_by_role('button', name='Continue').click()
    await expect(page.get_by_role('button', name='Proceed to checkout')).to_be_visible()
    await expect(page.get_by_role('button', name='Continue')).to_have_count(0)
    await expect(page.get_by_text('$100.00 / year (2 months free)')).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'billing-stepper-review.png', animations='disabled')
    await page.get_by_role('button', name='Proceed to checkout').click()
    await expect(page.get_by_label('Card number')).to_be_visible()


async def pay(page: Page, card: str) -> None:
    await page.get_by_label('Card number').fill(card)
    await page.get_by_label('Expiration').fill('12 / 34')
    await page.get_by_label('CVC').fill('123')
    await page.get_by_label('Cardholder name').fill('Olga Owner')
    await page.get_by_role('button', name='Subscribe').click()


@pytest.mark.parametrize('first_card', ['4000 0000 0000 0002'])
async def test_a_trial_admin_buys_flexible_yearly_for_5_seats(live_server: LiveServer, browser, first_card) -> None:
    page = await logged_in(live_server, browser)
    subscription = page.get_by_label('Subscription', exact=True)
    await expect(subscription.get_by_text('Trial: 14 days left')).to_be_visible()
    await expect(page.get_by_role('button', name='Subscription settings')).to_have_count(0)

    await choose_flexible_yearly_5_seats(page)
    checkout_url = page.url
    await pay(page, first_card)  # declined: the page says so, nothing is created
    await expect(page.get_by_text('Your card was declined.')).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'billing-checkout-declined.png')
    other_tab = await page.context.new_page()
    await other_tab.goto(f'{live_server.url}/admin')
    await expect(other_tab.get_by_label('Subscription', exact=True).get_by_text('Trial: 14 days left')).to_be_visible()
    assert await subscriptions_in_stripe(live_server) == []

    await pay(page, '4242 4242 4242 4242')
    await expect(page.get_by_text('Your subscription is Active.')).to_be_visible(timeout=15_000)
    await page.screenshot(path=ARTIFACTS / 'billing-confirmation.png')
    await page.get_by_role('link', name='Back to administration').click()

    await expect(subscription.get_by_text('Flexible')).to_be_visible()
    await expect(subscription.get_by_text('Active')).to_be_visible()
    await expect(subscription.get_by_text('1 of 5 used')).to_be_visible()
    await expect(subscription.get_by_text('Renews on')).to_be_visible()
    await expect(subscription.get_by_text('Tokens', exact=True)).to_be_visible()
    await expect(subscription.get_by_role('button', name='+ Add tokens')).to_be_visible()
    await expect(subscription.get_by_text('0', exact=True)).to_be_visible()
    await expect(page.get_by_role('button', name='Subscription settings')).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'billing-active-subscription.png', full_page=True)
    [subscription_in_stripe] = await subscriptions_in_stripe(live_server)
    assert subscription_in_stripe['items']['data'][0]['quantity'] == 5

    # A second try with the declining card, on the same checkout and from the plans page: nothing changes.
    await other_tab.goto(checkout_url)
    await expect(other_tab.get_by_text('This checkout session is already complete')).to_be_visible()
    await other_tab.goto(f'{live_server.url}/admin/subscriptions')
    await expect(
        other_tab.get_by_text('Your organization already subscribes to Flexible.', exact=False)
    ).to_be_visible()
    await expect(other_tab.get_by_role('button', name='Select Flexible')).to_have_count(0)
    assert await subscriptions_in_stripe(live_server) == [subscription_in_stripe]
    await page.reload()
    await expect(subscription.get_by_text('1 of 5 used')).to_be_visible()


async def subscriptions_in_stripe(live_server: LiveServer) -> list[dict]:
    """What the emulator holds, asked the way any script would: the stripe SDK with the key file."""
    import stripe

    key = (Path(live_server.env['DATA_DIR']) / 'stripe-emulator-key').read_text().strip()
    client = stripe.StripeClient(key, base_addresses={'api': f'{live_server.url}/emulator/stripe'})
    found = await client.v1.subscriptions.list_async(params={'status': 'all'})
    return [subscription.to_dict() for subscription in found.data]


async def test_cancelling_checkout_returns_to_the_plans_with_nothing_changed(live_server: LiveServer, browser) -> None:
    page = await logged_in(live_server, browser)
    await choose_flexible_yearly_5_seats(page)
    await page.get_by_role('link', name='Cancel').click()
    await expect(page.get_by_text('Checkout was cancelled. Nothing was charged and nothing changed.')).to_be_visible()
    await expect(page.get_by_role('button', name='Select Flexible')).to_be_visible()
    await page.goto(f'{live_server.url}/admin')
    await expect(page.get_by_text('Trial: 14 days left')).to_be_visible()


PRICES = ('$6.00 per seat / month', '$12.00 per seat / month', '$10.00 per seat / month')  # plans.toml's plans
YEARLY_PRICES = ('or $60.00 per seat / year', 'or $120.00 per seat / year', 'or $100.00 per seat / year')


async def test_the_plan_cards_line_up_their_prices_and_no_step_is_wider_than_a_phone(
    live_server: LiveServer, browser
) -> None:
    page = await logged_in(live_server, browser)
    await page.set_viewport_size({'width': 1280, 'height': 900})
    await page.get_by_role('button', name='Choose subscription').click()
    await expect(page.get_by_role('button', name='Select Flexible')).to_be_visible()
    for texts in (PRICES, YEARLY_PRICES):
        boxes = [await page.get_by_text(text, exact=True).bounding_box() for text in texts]
        assert len({box['x'] for box in boxes}) == 3, boxes  # side by side
        assert len({round(box['y']) for box in boxes}) == 1, boxes  # at the same height
    buttons = [await page.get_by_role('button', name=f'Select {plan}').bounding_box()
               for plan in ('Starter', 'Professional', 'Flexible')]  # fmt: skip
    assert len({round(box['y']) for box in buttons}) == 1, buttons

    await page.set_viewport_size({'width': 390, 'height': 844})
    await expect(page.get_by_text(PRICES[0], exact=True)).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'billing-plans-phone.png', full_page=True)
    assert await fits_the_width(page), 'the plans'
    await page.get_by_role('button', name='Select Flexible').click()
    await expect(page.get_by_role('button', name='Continue')).to_be_visible()
    assert await fits_the_width(page), 'the seats and billing interval'
    await page.get_by_role('button', name='Continue').click()
    await expect(page.get_by_role('button', name='Proceed to checkout')).to_be_visible()
    assert await fits_the_width(page), 'the review'


async def fits_the_width(page: Page) -> bool:
    return await page.evaluate('document.documentElement.scrollWidth <= innerWidth')

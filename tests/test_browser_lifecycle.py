"""The rest of a subscription's life in headless Chromium, against `python main.py` with offline billing: 3-D Secure
at checkout and on a renewal ("Confirm payment"), pause then resume, and a downgrade at the period's end that the
renewal applies on the emulator's test clock."""

import asyncio
import time

from playwright.async_api import Page, expect
from tortoise.exceptions import OperationalError

from db.models import BillingAccount, Organization
from tests.conftest import ARTIFACTS, LiveServer
from tests.test_browser_billing import logged_in
from tests.test_browser_recovery import emulator_post
from tests.test_browser_subscription import emulator, from_cogwheel, pay, section, settled, subscribed

ALWAYS_ASKS = '4000 0027 6000 3184'


async def shots(page: Page, name: str) -> None:
    await page.screenshot(path=ARTIFACTS / f'lifecycle-{name}-desktop.png', animations='disabled')
    await page.set_viewport_size({'width': 390, 'height': 844})
    await page.screenshot(path=ARTIFACTS / f'lifecycle-{name}-phone.png', animations='disabled', full_page=True)
    await page.set_viewport_size({'width': 1280, 'height': 1000})


async def written_beside_the_server(write) -> None:
    """Write from the test process to the SQLite file the live server writes too. A transaction that read before the
    server's commit cannot write after it (SQLite's BUSY_SNAPSHOT, which no busy timeout waits for): try it again."""
    for attempt in range(50):
        try:
            return await write()
        except OperationalError:
            if attempt == 49:
                raise
            await asyncio.sleep(0.1)


async def to_checkout(page: Page) -> None:
    await page.get_by_role('button', name='Choose subscription').click()
    await page.get_by_role('button', name='Select Flexible').click()
    await page.get_by_role('button', name='Continue').click()
    await page.get_by_role('button', name='Proceed to checkout').click()


async def test_3d_secure_at_checkout_failed_then_completed_and_on_a_renewal(live_server: LiveServer, browser) -> None:
    page = await logged_in(live_server, browser)
    await to_checkout(page)
    await pay(page, ALWAYS_ASKS, button='Subscribe')
    await expect(page.get_by_role('heading', name='3D Secure')).to_be_visible()
    await shots(page, '3d-secure-checkout')
    await page.get_by_role('button', name='Fail authentication').click()
    await expect(page.get_by_text('We are unable to authenticate your payment method.')).to_be_visible()
    await pay(page, ALWAYS_ASKS, button='Subscribe')
    await page.get_by_role('button', name='Complete authentication').click()
    await expect(page.get_by_text('Your subscription is Active.')).to_be_visible(timeout=15_000)
    await page.get_by_role('link', name='Back to administration').click()
    await expect(section(page).get_by_text('Active', exact=True)).to_be_visible()
    await settled(page, live_server)

    # The renewal is charged off session: the card asks again, and the banner offers "Confirm payment".
    [subscription] = (await emulator(live_server, '/v1/subscriptions'))['data']
    await emulator_post(live_server, f'/v1/subscriptions/{subscription["id"]}',
                        {'billing_cycle_anchor': 'now', 'proration_behavior': 'none'})  # fmt: skip
    banner = section(page).get_by_role('alert')
    await expect(banner).to_contain_text('The payment of $10.00 needs your confirmation (3-D Secure).')
    await expect(banner.get_by_role('button', name='Pay now')).to_have_count(0)
    await settled(page, live_server)
    await shots(page, 'confirm-payment-banner')
    await banner.get_by_role('button', name='Confirm payment').click()
    await expect(page.get_by_role('heading', name='3D Secure')).to_be_visible()
    await expect(page.get_by_text('Your bank asks you to confirm a payment of $10.00')).to_be_visible()
    await page.get_by_role('button', name='Complete authentication').click()
    await expect(page.get_by_role('heading', name='Payment confirmed')).to_be_visible()
    await page.get_by_role('link', name='Return to Portico (offline billing)').click()
    await expect(section(page).get_by_text('Active', exact=True)).to_be_visible()
    await expect(section(page).get_by_role('alert')).to_have_count(0)


async def test_pause_then_resume(live_server: LiveServer, browser) -> None:
    page = await subscribed(live_server, browser)
    dialog = await from_cogwheel(page, 'Flexible', 'Pause subscription')
    await expect(dialog.get_by_text('It resumes on')).to_be_visible()  # 1 billing period, the first choice
    await dialog.get_by_role('radio', name='Until I resume').click()
    await expect(dialog.get_by_text('It stays paused until an admin resumes it.')).to_be_visible()
    await dialog.get_by_role('radio', name='2 billing periods').click()
    resumes = (await dialog.get_by_text('It resumes on').text_content()).split(' on ')[1].split(',')[0]
    await shots(page, 'pause-dialog')
    await dialog.get_by_role('button', name='Pause subscription').click()
    await expect(page.get_by_text('Your subscription is paused.').first).to_be_visible()
    await expect(section(page).get_by_text('Paused', exact=True)).to_be_visible()
    await expect(section(page).get_by_text('Resumes on', exact=True)).to_be_visible()
    await expect(section(page).get_by_text(f'It resumes on {resumes}', exact=False)).to_be_visible()
    await settled(page, live_server)
    await shots(page, 'paused')

    dialog = await from_cogwheel(page, 'Flexible', 'Resume subscription')
    await dialog.get_by_role('button', name='Resume subscription').click()
    await expect(page.get_by_text('Your subscription is active again.')).to_be_visible()
    await expect(section(page).get_by_text('Active', exact=True)).to_be_visible()
    await expect(section(page).get_by_text('Renews on', exact=True)).to_be_visible()


async def test_a_downgrade_at_the_period_end_takes_effect_on_the_test_clock(db, live_server: LiveServer,
                                                                             browser) -> None:  # fmt: skip
    page = await logged_in(live_server, browser)
    # The organization's Stripe customer lives on a test clock (made as a script would, with the emulator's key).
    clock = await emulator_post(live_server, '/v1/test_helpers/test_clocks', {'frozen_time': str(int(time.time()))})
    customer = await emulator_post(live_server, '/v1/customers', {'name': 'Buyer Org', 'test_clock': clock['id']})
    organization = await Organization.get(name='Buyer Org')
    await written_beside_the_server(lambda: BillingAccount.update_or_create(
        defaults={'stripe_customer_id': customer['id']}, organization_id=organization.id))  # fmt: skip
    await to_checkout(page)
    await pay(page, '4242 4242 4242 4242', button='Subscribe')
    await expect(page.get_by_text('Your subscription is Active.')).to_be_visible(timeout=15_000)
    await page.get_by_role('link', name='Back to administration').click()
    await settled(page, live_server)

    dialog = await from_cogwheel(page, 'Flexible', 'Edit subscription')
    await dialog.get_by_label('Plan').click()
    await page.get_by_role('option', name='Starter').click()
    await expect(dialog.get_by_role('radio', name='At the end of the current period')).to_be_checked()
    await expect(dialog.get_by_text('Nothing is charged or credited today.')).to_be_visible()
    await shots(page, 'downgrade-dialog')
    await dialog.get_by_role('button', name='Confirm').click()
    note = section(page).get_by_text('Changes to Starter, 1 seat on')
    await expect(note).to_be_visible()
    await expect(section(page).get_by_text('Flexible', exact=True)).to_be_visible()
    await settled(page, live_server)
    await shots(page, 'scheduled-change')

    [subscription] = (await emulator(live_server, '/v1/subscriptions'))['data']
    period_end = subscription['items']['data'][0]['current_period_end']
    await emulator_post(live_server, f'/v1/test_helpers/test_clocks/{clock["id"]}/advance',
                        {'frozen_time': str(period_end + 60)})  # fmt: skip
    await expect(section(page).get_by_text('Starter', exact=True)).to_be_visible(timeout=15_000)
    await expect(note).to_have_count(0)
    await settled(page, live_server)
    await shots(page, 'downgrade-applied')

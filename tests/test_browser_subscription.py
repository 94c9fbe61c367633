"""The guide's "Subscription" part in headless Chromium, against `python main.py` with offline billing.

One test per bullet of the guide, through the labels and accessible names of UI_CONTRACT.md. Each test starts from a
fresh server and database, and buys a Flexible subscription (monthly, 1 seat) through the UI first.

The guide's last bullet, "Choosing subscription - Trial users", is the first-time purchase:
test_browser_billing.py::test_a_trial_admin_buys_flexible_yearly_for_5_seats covers it.
"""

import asyncio
import re
import time
from pathlib import Path

import httpx
from playwright.async_api import Locator, Page, expect

from tests.conftest import ARTIFACTS, LiveServer
from tests.test_browser_billing import logged_in

VISA = '4242 4242 4242 4242'
MASTERCARD = '5555 5555 5555 4444'


# ----- helpers -------------------------------------------------------------------------------------------------


async def pay(page: Page, card: str, *, button: str) -> None:
    """Fill the emulator's hosted checkout page; its button says "Subscribe", "Pay" or "Save card" by mode."""
    await expect(page.get_by_role('button', name=button, exact=True)).to_be_visible()
    await page.get_by_label('Card number').fill(card)
    await page.get_by_label('Expiration').fill('12 / 34')
    await page.get_by_label('CVC').fill('123')
    await page.get_by_label('Cardholder name').fill('Olga Owner')
    await page.get_by_role('button', name=button, exact=True).click()


def section(page: Page) -> Locator:
    return page.get_by_label('Subscription', exact=True)


async def subscribed(live_server: LiveServer, browser) -> Page:
    """A logged-in admin whose organization has just bought Flexible (monthly, 1 seat) with 4242…, back on /admin."""
    page = await logged_in(live_server, browser)
    await page.get_by_role('button', name='Choose subscription').click()
    await page.get_by_role('button', name='Select Flexible').click()
    await page.get_by_role('button', name='Continue').click()
    await page.get_by_role('button', name='Proceed to checkout').click()
    await pay(page, VISA, button='Subscribe')
    await expect(page.get_by_text('Your subscription is Active.')).to_be_visible(timeout=15_000)
    await page.get_by_role('link', name='Back to administration').click()
    await expect(section(page).get_by_text('Active', exact=True)).to_be_visible()
    await expect(section(page).get_by_text('1 of 1 used')).to_be_visible()
    await settled(page, live_server)
    return page


async def emulator(live_server: LiveServer, path: str, **params) -> dict:
    """GET from the emulator's Stripe API (UI_CONTRACT.md, "Offline billing"), with its key from DATA_DIR."""
    key = (Path(live_server.env['DATA_DIR']) / 'stripe-emulator-key').read_text().strip()
    async with httpx.AsyncClient(base_url=f'{live_server.url}/emulator/stripe', timeout=5) as client:
        response = await client.get(path, params=params, headers={'Authorization': f'Bearer {key}'})
    response.raise_for_status()
    return response.json()


async def settled(page: Page, live_server: LiveServer, seconds: float = 10.0) -> None:
    """Wait until the emulator has delivered every webhook and the Subscription section stopped re-rendering.

    Each delivered webhook re-renders the whole section, cogwheel and any open menu included, so a click on the
    cogwheel while webhooks still arrive opens a menu that vanishes at once (reported as a bug with this file).
    """
    deadline = time.monotonic() + seconds
    while any(event['pending_webhooks'] for event in (await emulator(live_server, '/v1/events', limit=100))['data']):
        assert time.monotonic() < deadline, 'the emulator did not deliver its webhooks'
        await asyncio.sleep(0.1)
    cogwheel = page.get_by_role('button', name='Subscription settings')
    while True:  # the last delivery's refresh may still be on its way: wait for one quiet moment
        handle = await cogwheel.element_handle()
        await asyncio.sleep(0.4)
        if await handle.evaluate('element => element.isConnected'):
            return
        assert time.monotonic() < deadline, 'the Subscription section keeps re-rendering'


async def from_cogwheel(page: Page, *path: str, screenshot: str = '') -> Locator:
    """Click the cogwheel, then each menu entry of `path` (a plan name opens its sub-menu); return the dialog.

    With `screenshot`, the open menus are photographed just before the last entry is chosen.
    """
    await page.get_by_role('button', name='Subscription settings').click()
    for number, label in enumerate(path, start=1):
        # Quasar gives the menu role=menu but its q-items role=listitem, so the entries are found by their text.
        entry = page.get_by_role('menu').get_by_text(label, exact=True)
        await expect(entry).to_be_visible()
        if screenshot and number == len(path):
            await entry.hover()
            await shot(page, screenshot)
        await entry.click()
    dialog = page.get_by_role('dialog', name=path[-1])
    await expect(dialog).to_be_visible()
    await expect(page.get_by_role('menu'), 'the cogwheel menu closes once an entry is chosen').to_have_count(0)
    return dialog


async def renewal(page: Page) -> str:
    """The date shown next to "Renews on", e.g. "June 4, 2026"."""
    field = section(page).get_by_text('Renews on', exact=True)
    return (await field.locator('xpath=following-sibling::*[1]').text_content()).strip()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=ARTIFACTS / f'subscription-{name}.png', animations='disabled')


async def closed(dialog: Locator) -> None:
    await expect(dialog).to_have_count(0)


# ----- the guide's bullets -------------------------------------------------------------------------------------


async def test_buy_tokens_on_a_flexible_subscription(live_server: LiveServer, browser) -> None:
    page = await subscribed(live_server, browser)
    await expect(section(page).get_by_text('Tokens', exact=True)).to_be_visible()
    await expect(section(page).get_by_text('0', exact=True)).to_be_visible()

    await section(page).get_by_role('button', name='+ Add tokens').click()
    dialog = page.get_by_role('dialog', name='Add tokens')
    await expect(dialog.get_by_text('Tokens come in packs of 1,000 for $10.00 each.')).to_be_visible()
    await expect(dialog.get_by_text('Total: $10.00')).to_be_visible()
    quantity = dialog.get_by_label('Quantity')
    await quantity.fill('3')
    await expect(dialog.get_by_text('3 packs = 3,000 tokens')).to_be_visible()
    await expect(dialog.get_by_text('Total: $30.00')).to_be_visible()
    # The card Subscribe saved is the default: the form names it, and offers it besides Checkout (issue 14, point 3).
    await expect(dialog.get_by_text('Pay now with your default card, Visa ending in 4242, or proceed to checkout to '
                                    'use another card.')).to_be_visible()  # fmt: skip
    await expect(dialog.get_by_role('button', name='Pay $30.00 with Visa ending in 4242')).to_be_enabled()
    await shot(page, 'add-tokens')
    await dialog.get_by_role('button', name='Proceed to checkout').click()

    # The checkout says what it sells, and for whom.
    await expect(page.get_by_role('heading', name='Buy 3,000 tokens', exact=True)).to_be_visible()
    await expect(page.get_by_text('Token pack (1,000 tokens)', exact=True)).to_be_visible()
    await expect(page.get_by_text('Qty 3, $10.00 each', exact=True)).to_be_visible()
    await expect(page.get_by_text('Paying as Buyer Org')).to_be_visible()
    await expect(page.get_by_text('For Buyer Org: the tokens are added to its balance as soon as the payment goes '
                                  'through.')).to_be_visible()  # fmt: skip
    await expect(page.get_by_text('Flexible')).to_have_count(0)
    await page.screenshot(path=ARTIFACTS / 'subscription-token-checkout-1280.png', full_page=True)
    await page.set_viewport_size({'width': 390, 'height': 844})
    await expect(page.get_by_role('heading', name='Buy 3,000 tokens', exact=True)).to_be_in_viewport()
    await page.screenshot(path=ARTIFACTS / 'subscription-token-checkout-390.png', full_page=True)
    await page.set_viewport_size({'width': 1280, 'height': 1000})

    await pay(page, VISA, button='Pay')
    await expect(page).to_have_url(re.compile(r'/admin\?checkout_session=cs_'), timeout=15_000)
    await expect(page.get_by_text('3,000 tokens added.')).to_be_visible(timeout=15_000)
    await expect(section(page).get_by_text('3,000', exact=True)).to_be_visible(timeout=15_000)

    # Again, with the default card at once: no checkout page.
    await settled(page, live_server)
    await section(page).get_by_role('button', name='+ Add tokens').click()
    await dialog.get_by_label('Quantity').fill('2')
    await dialog.get_by_role('button', name='Pay $20.00 with Visa ending in 4242').click()
    await expect(page.get_by_text('2,000 tokens added.')).to_be_visible(timeout=15_000)
    await expect(dialog).to_have_count(0)
    await expect(section(page).get_by_text('5,000', exact=True)).to_be_visible(timeout=15_000)
    assert '/emulator/stripe/' not in page.url

    await settled(page, live_server)
    await section(page).get_by_role('button', name='Token history').click()
    history = page.get_by_role('dialog', name='Token history')
    await expect(history.get_by_text('Bought 3 token packs: 3,000 tokens')).to_be_visible()
    await expect(history.get_by_text('Bought 2 token packs: 2,000 tokens')).to_be_visible()
    await expect(history.get_by_text('+3,000')).to_be_visible()
    await expect(history.get_by_text('+2,000')).to_be_visible()
    await shot(page, 'token-history')


async def test_edit_a_payment_method_and_add_another(live_server: LiveServer, browser) -> None:
    page = await subscribed(live_server, browser)
    dialog = await from_cogwheel(page, 'Payment methods')
    visa = dialog.get_by_role('group', name='Visa ending in 4242')
    await expect(visa.get_by_text('Visa •••• 4242')).to_be_visible()
    await expect(visa.get_by_text('Expires 12/2034')).to_be_visible()
    await expect(visa.get_by_text('Default', exact=True)).to_be_visible()
    await shot(page, 'payment-methods')

    await visa.get_by_role('button', name='Edit').click()
    edit = page.get_by_role('dialog', name='Edit payment method')
    await expect(edit.get_by_label('Cardholder name')).to_have_value('Olga Owner')
    await expect(page.get_by_role('dialog'), 'the form replaces the cards, not a dialog on top').to_have_count(1)
    await expect(edit.get_by_label('Expiration month')).to_be_focused()
    await edit.get_by_label('Expiration month').fill('7')
    await edit.get_by_label('Expiration year').fill('2031')
    await edit.get_by_label('Cardholder name').fill('Olga O. Owner')
    await shot(page, 'edit-payment-method')
    await edit.get_by_role('button', name='Save').click()
    await closed(edit)
    await expect(page.get_by_text('Visa ending in 4242 was saved.')).to_be_visible()
    await expect(visa.get_by_text('Expires 07/2031')).to_be_visible()
    customer = (await emulator(live_server, '/v1/customers'))['data'][0]['id']
    saved = (await emulator(live_server, f'/v1/customers/{customer}/payment_methods'))['data'][0]
    assert saved['billing_details']['name'] == 'Olga O. Owner'

    await dialog.get_by_role('button', name='Add payment method').click()
    await pay(page, MASTERCARD, button='Save card')
    await expect(section(page).get_by_text('Active', exact=True)).to_be_visible(timeout=15_000)
    await settled(page, live_server)

    dialog = await from_cogwheel(page, 'Payment methods')
    visa = dialog.get_by_role('group', name='Visa ending in 4242')
    mastercard = dialog.get_by_role('group', name='Mastercard ending in 4444')
    await expect(mastercard.get_by_text('Mastercard •••• 4444')).to_be_visible()
    await expect(dialog.get_by_role('group')).to_have_count(2)
    await expect(visa.get_by_text('Expires 07/2031')).to_be_visible()
    await expect(visa.get_by_text('Default', exact=True)).to_be_visible()
    await expect(mastercard.get_by_text('Default', exact=True)).to_have_count(0)
    await shot(page, 'payment-methods-two-cards')

    await mastercard.get_by_role('button', name='Make default').click()
    await expect(mastercard.get_by_text('Default', exact=True)).to_be_visible()
    await expect(visa.get_by_text('Default', exact=True)).to_have_count(0)
    await expect(visa.get_by_role('button', name='Make default')).to_be_visible()

    await visa.get_by_role('button', name='Remove').click()
    await expect(visa.get_by_text('Remove Visa ending in 4242?')).to_be_visible()
    await shot(page, 'remove-payment-method')
    await visa.get_by_role('button', name='Remove').click()
    await expect(dialog.get_by_role('group')).to_have_count(1)
    await expect(visa).to_have_count(0)
    await expect(mastercard.get_by_text('Default', exact=True)).to_be_visible()

    # The only card of a renewing subscription: the reason instead of the question (issue 14, point 6).
    await mastercard.get_by_role('button', name='Remove').click()
    await expect(
        mastercard.get_by_text('This is your only card, and your subscription renews with it.')
    ).to_be_visible()
    await expect(mastercard.get_by_text('Remove Mastercard ending in 4444?')).to_have_count(0)
    await shot(page, 'remove-last-payment-method')
    await mastercard.get_by_role('button', name='OK').click()
    await expect(dialog.get_by_role('group')).to_have_count(1)
    await expect(mastercard.get_by_role('button', name='Edit')).to_be_visible()  # the reason is gone


async def test_billing_history(live_server: LiveServer, browser) -> None:
    page = await subscribed(live_server, browser)
    dialog = await from_cogwheel(page, 'Billing history')
    view = dialog.get_by_role('link', name='View')
    await expect(view).to_have_count(1)
    for caption in ('Date', 'Number', 'Amount', 'Status'):
        await expect(dialog.get_by_text(caption, exact=True)).to_be_visible()
    await expect(dialog.get_by_text(re.compile(r'^[A-Z][a-z]+ \d{1,2}, \d{4}$'))).to_be_visible()  # e.g. May 4, 2026
    await expect(dialog.get_by_text(re.compile(r'^[A-Z0-9]+-\d{4}$'))).to_be_visible()  # e.g. ABCD1234-0001
    await expect(dialog.get_by_text('$10.00', exact=True)).to_be_visible()  # Flexible, monthly, 1 seat
    await expect(dialog.get_by_text('Paid', exact=True)).to_be_visible()
    await shot(page, 'billing-history')

    hosted_pages = f'{live_server.url}/emulator/stripe/invoice/'
    hosted = await view.get_attribute('href')
    pdf = await dialog.get_by_role('link', name='PDF').get_attribute('href')
    assert hosted.startswith(hosted_pages), hosted
    assert pdf.startswith(hosted_pages) and pdf.endswith('/pdf'), pdf
    response = await page.request.get(pdf)
    assert response.ok
    assert (await response.body()).startswith(b'%PDF')
    response = await page.request.get(hosted)
    assert response.ok
    assert 'paid' in (await response.text()).lower()


def covering(renews_on: str, what: str) -> re.Pattern:
    """ "For the 31 days left until January 1, 2027: Professional, 3 seats, less what is left of Flexible, 1 seat." """
    return re.compile(rf'^For the \d+ days? left until {re.escape(renews_on)}: {re.escape(what)}\.$')


async def test_edit_the_subscription(live_server: LiveServer, browser) -> None:
    page = await subscribed(live_server, browser)
    renews_on = await renewal(page)
    dialog = await from_cogwheel(page, 'Flexible', 'Edit subscription', screenshot='cogwheel-menu')
    await expect(dialog.get_by_label('Plan')).to_have_value('Flexible')
    await expect(dialog.get_by_label('Billing interval')).to_have_value('Monthly')
    await expect(dialog.get_by_label('Seats')).to_have_value('1')
    confirm = dialog.get_by_role('button', name='Confirm')
    await expect(confirm).to_be_disabled()

    await dialog.get_by_label('Plan').click()
    await page.get_by_role('option', name='Professional').click()
    await expect(dialog.get_by_text('Professional: 1 to 500 seats, 1 in use')).to_be_visible()
    await dialog.get_by_label('Seats').fill('3')
    await expect(dialog.get_by_text('You will have Professional, billed monthly, for 3 seats.')).to_be_visible()
    await expect(dialog.get_by_text(re.compile(r'^Charged today: \$\d+\.\d\d$'))).to_be_visible()
    await expect(dialog.get_by_text(f'Next invoice: $36.00 on {renews_on}')).to_be_visible()  # 3 × $12.00
    # The prorated charge says which period it covers and what for, and which card pays it.
    explained = covering(renews_on, 'Professional, 3 seats, less what is left of Flexible, 1 seat')
    await expect(dialog.get_by_text(explained)).to_be_visible()
    await expect(dialog.get_by_text('Charged to Visa ending in 4242.', exact=True)).to_be_visible()
    await expect(confirm).to_be_enabled()
    await shot(page, 'edit-subscription')
    await confirm.click()
    await closed(dialog)
    await expect(page.get_by_text('Your subscription was changed.')).to_be_visible()
    await expect(section(page).get_by_text('Professional', exact=True)).to_be_visible()
    await expect(section(page).get_by_text('1 of 3 used')).to_be_visible()
    await expect(section(page).get_by_text('Tokens', exact=True)).to_have_count(0)
    await expect(section(page).get_by_text('Renews on', exact=True)).to_be_visible()


async def test_add_seats(live_server: LiveServer, browser) -> None:
    page = await subscribed(live_server, browser)
    renews_on = await renewal(page)
    await section(page).get_by_role('button', name='+ Add seats').click()
    dialog = page.get_by_role('dialog', name='Add seats')
    await expect(dialog.get_by_text(re.compile(r'^You have 1 seat; your plan allows up to [\d,]+\.$'))).to_be_visible()
    await dialog.get_by_label('Seats to add').fill('2')
    await expect(dialog.get_by_text('You will have 3 seats.')).to_be_visible()
    await expect(dialog.get_by_text(re.compile(r'^Charged today: \$\d+\.\d\d$'))).to_be_visible()  # prorated
    explained = covering(renews_on, 'Flexible, 3 seats, less what is left of Flexible, 1 seat')
    await expect(dialog.get_by_text(explained)).to_be_visible()
    await expect(dialog.get_by_text(f'Next invoice: $30.00 on {renews_on}')).to_be_visible()  # 3 × $10.00
    await expect(dialog.get_by_text('Charged to Visa ending in 4242.', exact=True)).to_be_visible()
    await shot(page, 'add-seats')
    await dialog.get_by_role('button', name='Confirm').click()
    await closed(dialog)
    await expect(page.get_by_text('You now have 3 seats.')).to_be_visible()
    await expect(section(page).get_by_text('1 of 3 used')).to_be_visible()


async def cancel(page: Page, reason: str, screenshot: str) -> str:
    """Cancel through the cogwheel with `reason`; return the end date the dialog announced."""
    dialog = await from_cogwheel(page, 'Flexible', 'Cancel subscription')
    await dialog.get_by_label('Reason (optional)').fill(reason)
    await shot(page, screenshot)
    ends_on = (await dialog.get_by_text('subscription will end on').text_content()).split(' end on ')[1].split('.')[0]
    await dialog.get_by_role('button', name='Cancel subscription').click()
    await closed(dialog)
    return ends_on


async def test_cancel_the_subscription(live_server: LiveServer, browser) -> None:
    page = await subscribed(live_server, browser)
    renews_on = await renewal(page)

    dialog = await from_cogwheel(page, 'Flexible', 'Cancel subscription')
    await expect(dialog.get_by_text(f'Your Flexible subscription will end on {renews_on}.')).to_be_visible()
    await expect(dialog.get_by_label('Reason (optional)')).to_be_visible()
    await expect(dialog.get_by_role('button', name='Keep subscription')).to_be_visible()
    await shot(page, 'cancel')
    await dialog.get_by_role('button', name='Keep subscription').click()
    await closed(dialog)
    await expect(section(page).get_by_text('Renews on', exact=True)).to_be_visible()
    await expect(section(page).get_by_text('Your subscription is cancelled')).to_have_count(0)
    assert (await emulator(live_server, '/v1/subscriptions'))['data'][0]['cancel_at_period_end'] is False

    ends_on = await cancel(page, 'We are merging with another company.', 'cancel-with-reason')
    assert ends_on == renews_on
    subscription = (await emulator(live_server, '/v1/subscriptions'))['data'][0]
    assert subscription['cancel_at_period_end'] is True
    assert subscription['cancellation_details']['comment'] == 'We are merging with another company.'
    await expect(page.get_by_text(f'Your subscription will end on {renews_on}.')).to_be_visible()
    await expect(section(page).get_by_text('Ends on', exact=True)).to_be_visible()
    await expect(section(page).get_by_text('Renews on', exact=True)).to_have_count(0)
    await expect(section(page).get_by_text(f'Your subscription is cancelled and ends on {renews_on}.')).to_be_visible()
    await expect(section(page).get_by_text(f'Cancels on {renews_on}', exact=True)).to_be_visible()  # not "Active"
    await expect(section(page).get_by_text('Active', exact=True)).to_have_count(0)


async def test_remove_the_scheduled_cancellation(live_server: LiveServer, browser) -> None:
    page = await subscribed(live_server, browser)
    ends_on = await cancel(page, '', 'cancel-before-removal')
    await expect(section(page).get_by_text('Ends on', exact=True)).to_be_visible()
    await settled(page, live_server)

    dialog = await from_cogwheel(page, 'Flexible', 'Remove scheduled cancellation')
    await expect(dialog.get_by_text(f'Your Flexible subscription is set to end on {ends_on}.')).to_be_visible()
    await shot(page, 'remove-cancellation')
    await dialog.get_by_role('button', name='Remove scheduled cancellation').click()
    await closed(dialog)
    await expect(page.get_by_text('The cancellation was removed. Your subscription keeps renewing.')).to_be_visible()
    await expect(section(page).get_by_text('Renews on', exact=True)).to_be_visible()
    await expect(section(page).get_by_text(ends_on, exact=True)).to_be_visible()
    await expect(section(page).get_by_text('Ends on', exact=True)).to_have_count(0)
    await expect(section(page).get_by_text('Your subscription is cancelled')).to_have_count(0)


async def test_the_cogwheel_tooltip_never_covers_its_menu(live_server: LiveServer, browser) -> None:
    """Issue 14, point 4: with the pointer still on the cogwheel, "Payment methods" is the element under its own
    centre, and no tooltip shows while the menu is open."""
    page = await subscribed(live_server, browser)
    cogwheel = section(page).get_by_role('button', name='Subscription settings')
    await cogwheel.hover()
    await expect(page.get_by_role('tooltip').filter(has_text='Subscription settings')).to_be_visible()
    await cogwheel.click()
    item = page.get_by_role('menuitem', name='Payment methods')
    await expect(item).to_be_visible()
    await page.wait_for_timeout(700)  # a tooltip that would come back on hover has had its delay
    await expect(page.get_by_role('tooltip').filter(has_text='Subscription settings')).to_have_count(0)
    box = await item.bounding_box()
    on_top = await page.evaluate('([x, y]) => document.elementFromPoint(x, y).closest("[role=menuitem]")?.innerText',
                                 [box['x'] + box['width'] / 2, box['y'] + box['height'] / 2])  # fmt: skip
    assert on_top and 'Payment methods' in on_top
    await shot(page, 'cogwheel-open')

    # A touch screen (a phone, as Chromium emulates one): no tooltip, even when the browser sends a hover (some
    # send one before a tap, and Quasar would show the tooltip over the menu).
    phone = await page.context.browser.new_context(storage_state=await page.context.storage_state(),
                                                   viewport={'width': 390, 'height': 844}, is_mobile=True,
                                                   has_touch=True)  # fmt: skip
    touch = await phone.new_page()
    await touch.goto(page.url)
    assert await touch.evaluate('matchMedia("(hover: none)").matches')
    cogwheel = section(touch).get_by_role('button', name='Subscription settings')
    await cogwheel.hover()
    await touch.wait_for_timeout(700)  # past the tooltip's delay
    await expect(touch.get_by_role('tooltip').filter(has_text='Subscription settings')).to_have_count(0)
    await cogwheel.tap()
    await expect(touch.get_by_role('menuitem', name='Payment methods')).to_be_visible()
    await expect(touch.get_by_role('tooltip').filter(has_text='Subscription settings')).to_have_count(0)

"""Every page and dialog, in headless Chromium: axe-core finds no serious or critical WCAG 2.2 AA violation at 1280 px,
and nothing is wider than a 390 px phone (issue 14, points 1 and 15). Screenshots of each at both widths go to
tests/artifacts/look-*.png.

axe-core comes from the npm registry (tests/accessibility/fetch_axe.sh, run by `make test`).
"""

from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from tests.conftest import ARTIFACTS, LiveServer
from tests.test_browser_billing import logged_in
from tests.test_browser_subscription import VISA, emulator, from_cogwheel, pay, section, settled, subscribed

AXE = Path(__file__).parent.parent / '.cache' / 'axe-core-4.14.1' / 'axe.min.js'
AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']
PHONE = {'width': 390, 'height': 844}
DESKTOP = {'width': 1280, 'height': 900}

# What overflows, if anything: the page itself, or an element of an open dialog wider than the dialog's card.
OVERFLOW = """() => {
    const found = [];
    if (document.documentElement.scrollWidth > innerWidth)
        found.push(`the page is ${document.documentElement.scrollWidth} px wide at ${innerWidth} px`);
    for (const card of document.querySelectorAll('.q-dialog .q-card'))
        if (card.scrollWidth > card.clientWidth + 1)
            found.push(`a dialog's content is ${card.scrollWidth} px wide in ${card.clientWidth} px`);
    for (const element of document.querySelectorAll('body *')) {
        const box = element.getBoundingClientRect();
        if (box.width && box.right > innerWidth + 1 && getComputedStyle(element).visibility !== 'hidden')
            found.push(`${element.tagName.toLowerCase()}.${element.className} ends at ${Math.round(box.right)} px`);
    }
    return found.slice(0, 5);
}"""

# Buttons in sentence case, as UI_CONTRACT.md writes them, not in Quasar's default capitals.
CAPITALS = """() => [...document.querySelectorAll('.q-btn')]
    .map(button => [button, button.querySelector('.block')?.textContent.trim()])  // its label, not its icon's name
    .filter(([button, label]) => label && getComputedStyle(button).textTransform === 'uppercase')
    .map(([button, label]) => label)"""

AUDIT = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
    return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v =>
        `${v.id} (${v.impact}): ${v.help}: ` + v.nodes.slice(0, 3).map(n =>
            n.html.slice(0, 120) + (n.any[0]?.data?.contrastRatio ? ` (${n.any[0].data.contrastRatio}:1, `
            + `${n.any[0].data.fgColor} on ${n.any[0].data.bgColor})` : '')).join(' | '));
}"""


@pytest.fixture(autouse=True)
def axe_core() -> None:
    """Fetched once by `make test`; the test never downloads anything, and fails saying how when it is not there."""
    if not AXE.is_file():
        pytest.fail(
            f'axe-core is not in {AXE.parent}: `make test` fetches it once, or run '
            '`sh tests/accessibility/fetch_axe.sh` (it needs npm and the npm registry).',
            pytrace=False,
        )


async def looked_at(page: Page, name: str, problems: list[str]) -> None:
    """Check the page as it is now with axe-core at 1280 px and for overflow at 390 px, photograph both, and add what
    is wrong to `problems` (the test fails at its end, listing everything it found)."""
    await page.wait_for_timeout(350)  # Quasar's dialog and menu transitions end
    if not await page.evaluate('() => typeof axe !== "undefined"'):
        await page.add_script_tag(path=str(AXE))
    violations = await page.evaluate(AUDIT, AA)
    if (headings := await page.get_by_role('heading', level=1).count()) != 1:
        violations.append(f'{headings} headings of level 1, not one')
    violations.extend(f'"{caption}" is shown in capitals' for caption in await page.evaluate(CAPITALS))
    await page.screenshot(path=ARTIFACTS / f'look-{name}-desktop.png', animations='disabled')
    await page.set_viewport_size(PHONE)
    await page.wait_for_timeout(150)
    overflow = await page.evaluate(OVERFLOW)
    await page.screenshot(path=ARTIFACTS / f'look-{name}-phone.png', animations='disabled', full_page=True)
    await page.set_viewport_size(DESKTOP)
    problems.extend(f'{name}: {violation}' for violation in violations)
    problems.extend(f'{name} at 390 px: {found}' for found in overflow)


async def by_button(page: Page, button: str, dialog: str) -> Locator:
    await section(page).get_by_role('button', name=button, exact=True).click()
    opened = page.get_by_role('dialog', name=dialog)
    await expect(opened).to_be_visible()
    return opened


async def edit_card(page: Page) -> Locator:
    methods = await from_cogwheel(page, 'Payment methods')
    await methods.get_by_role('button', name='Edit Visa ending in 4242').click()
    edit = page.get_by_role('dialog', name='Edit payment method')
    await expect(edit.get_by_label('Expiration month')).to_be_focused()
    return edit


async def edit_own_user(page: Page) -> Locator:
    row = page.get_by_role('row', name='Olga Owner', exact=True)
    await row.hover()
    await row.get_by_role('button', name='Edit user').click()
    return page.get_by_role('dialog', name='Edit user')


async def closed_with_escape(page: Page, dialog: Locator) -> None:
    await expect(dialog).to_be_visible()
    await page.wait_for_timeout(350)  # its opening transition ends
    await page.keyboard.press('Escape')
    await expect(dialog).to_have_count(0)


async def focused_text(page: Page) -> str:
    return await page.evaluate('() => document.activeElement.textContent.trim()')


async def arrow_to(page: Page, entry: str) -> None:
    """Move through the open menu with ArrowDown until `entry` holds the focus."""
    for _ in range(12):
        await page.keyboard.press('ArrowDown')
        if (await focused_text(page)).startswith(entry):  # a sub-menu's entry ends with its arrow icon's name
            return
    pytest.fail(f'ArrowDown never reached "{entry}" (it stopped on "{await focused_text(page)}")')


async def keyboard_only(page: Page) -> None:
    """Issue 14, point 5: each dialog, closed with Escape, gives the focus back to what opened it; the cogwheel menu
    and its sub-menu move with the arrow keys."""
    add_user = page.get_by_role('button', name='+ Add user')
    await add_user.focus()
    await page.keyboard.press('Enter')
    await expect(page.get_by_role('dialog', name='Add user')).to_be_visible()
    await closed_with_escape(page, page.get_by_role('dialog', name='Add user'))
    await expect(add_user).to_be_focused()

    cogwheel = page.get_by_role('button', name='Subscription settings')
    await cogwheel.focus()
    await page.keyboard.press('Enter')
    await expect(page.get_by_role('menu')).to_be_visible()
    await arrow_to(page, 'Billing history')
    await page.keyboard.press('ArrowUp')
    await page.keyboard.press('ArrowDown')
    assert await focused_text(page) == 'Billing history'
    await page.keyboard.press('Enter')
    await closed_with_escape(page, page.get_by_role('dialog', name='Billing history'))
    await expect(cogwheel).to_be_focused()  # the menu's entry is gone: its button

    await page.keyboard.press('Enter')
    await expect(page.get_by_role('menu')).to_be_visible()
    await arrow_to(page, 'Flexible')
    await page.keyboard.press('ArrowRight')  # the plan's sub-menu: the arrow keys move in it once it is open
    await expect(page.get_by_role('menuitem', name='Edit subscription')).to_be_visible()
    await arrow_to(page, 'Edit subscription')
    await page.keyboard.press('Enter')
    await closed_with_escape(page, page.get_by_role('dialog', name='Edit subscription'))
    await expect(cogwheel).to_be_focused()


async def test_the_pages_before_and_around_a_subscription(live_server: LiveServer, browser) -> None:
    problems: list[str] = []
    anonymous = await (await browser.new_context(viewport=DESKTOP)).new_page()
    await anonymous.goto(f'{live_server.url}/setup')
    await expect(anonymous.get_by_role('button', name='Create organization')).to_be_visible()
    await looked_at(anonymous, 'setup', problems)

    page = await logged_in(live_server, browser)
    await page.set_viewport_size(DESKTOP)
    await anonymous.goto(f'{live_server.url}/login')
    await looked_at(anonymous, 'login', problems)
    await anonymous.goto(f'{live_server.url}/forgot-password')
    await looked_at(anonymous, 'forgot-password', problems)
    await anonymous.goto(f'{live_server.url}/help')
    await looked_at(anonymous, 'help', problems)

    await expect(section(page).get_by_text('Trial: 14 days left')).to_be_visible()
    await looked_at(page, 'admin-trial', problems)
    await page.get_by_role('button', name='Edit organization').click()
    await looked_at(page, 'organization-dialog', problems)
    await closed_with_escape(page, page.get_by_role('dialog'))
    await page.get_by_role('button', name='+ Add user').click()
    await looked_at(page, 'add-user-dialog', problems)
    await closed_with_escape(page, page.get_by_role('dialog'))

    await page.get_by_role('button', name='Choose subscription').click()
    await expect(page.get_by_role('button', name='Select Flexible')).to_be_visible()
    await looked_at(page, 'subscriptions', problems)
    await page.get_by_role('button', name='Select Flexible').click()
    await page.get_by_role('button', name='Continue').click()
    await expect(page.get_by_role('button', name='Proceed to checkout')).to_be_visible()
    await looked_at(page, 'subscriptions-review', problems)
    await page.get_by_role('button', name='Proceed to checkout').click()
    await expect(page.get_by_label('Card number')).to_be_visible()
    await looked_at(page, 'checkout', problems)
    await pay(page, VISA, button='Subscribe')
    await expect(page.get_by_text('Your subscription is Active.')).to_be_visible(timeout=15_000)
    await looked_at(page, 'subscriptions-complete', problems)
    assert not problems, '\n'.join(problems)


async def test_the_subscribed_admin_page_and_its_dialogs(live_server: LiveServer, browser) -> None:
    problems: list[str] = []
    page = await subscribed(live_server, browser)
    await page.set_viewport_size(DESKTOP)
    await looked_at(page, 'admin-subscribed', problems)
    for opener, name in (
        (lambda: from_cogwheel(page, 'Flexible', 'Edit subscription'), 'edit-subscription'),
        (lambda: from_cogwheel(page, 'Flexible', 'Pause subscription'), 'pause'),
        (lambda: from_cogwheel(page, 'Payment methods'), 'payment-methods'),
        (lambda: from_cogwheel(page, 'Billing history'), 'billing-history'),
        (lambda: edit_card(page), 'edit-payment-method'),
        (lambda: by_button(page, 'Token history', 'Token history'), 'token-history'),
        (lambda: by_button(page, 'Alert me below', 'Alert me below'), 'alert-me-below'),
        (lambda: edit_own_user(page), 'edit-user'),
        (lambda: by_button(page, '+ Add seats', 'Add seats'), 'add-seats'),
        (lambda: by_button(page, '+ Add tokens', 'Add tokens'), 'add-tokens'),
        (lambda: by_button(page, 'Auto top-up', 'Auto top-up'), 'auto-top-up'),
    ):
        dialog = await opener()
        await looked_at(page, f'{name}-dialog', problems)
        await closed_with_escape(page, dialog)
    await keyboard_only(page)

    invoices = await emulator(live_server, '/v1/invoices', limit=1)
    await page.goto(invoices['data'][0]['hosted_invoice_url'])
    await expect(page.get_by_text('Paid', exact=False).first).to_be_visible()
    await looked_at(page, 'hosted-invoice', problems)
    await page.go_back()
    await settled(page, live_server)

    dialog = await from_cogwheel(page, 'Flexible', 'Cancel subscription')
    await looked_at(page, 'cancel-dialog', problems)
    await dialog.get_by_role('button', name='Cancel subscription').click()
    await expect(section(page).get_by_text('Cancels on', exact=False).first).to_be_visible()
    await settled(page, live_server)
    await looked_at(page, 'admin-cancellation-scheduled', problems)
    assert not problems, '\n'.join(problems)

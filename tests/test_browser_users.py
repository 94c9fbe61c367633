"""In headless Chromium, against `python main.py`: every action of the guide's "User management".

Each test finds controls only by the labels and accessible names of UI_CONTRACT.md ("Users section"). A user row
is an element with role=group named after the user; its pencil, lock and trashcan buttons show on hover or focus.
"""

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.conftest import ARTIFACTS, Inbox, LiveServer
from tests.helpers import PASSWORD

ORGANIZATION = 'Row Org'
ADMIN_NAME = 'Ada Admin'
ADMIN_EMAIL = 'ada@example.com'
NEW_PASSWORD = 'another horse battery staple'
REFUSED = 'You need administrative rights to open the administration portal.'


@pytest.fixture
def portal(smtp: Inbox, live_server: LiveServer) -> LiveServer:
    """The live server with SMTP pointed at the `smtp` inbox: `smtp` must be set up before the server starts."""
    created = live_server.cli(
        'create-admin', '--organization', ORGANIZATION, '--name', ADMIN_NAME, '--email', ADMIN_EMAIL,
        '--password', PASSWORD,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return live_server


async def new_page(browser: Browser) -> Page:
    """A page in its own context, so each one is a separate browser session."""
    context = await browser.new_context(viewport={'width': 1280, 'height': 900})
    return await context.new_page()


async def log_in(page: Page, server: LiveServer, email: str, password: str = PASSWORD) -> None:
    if page.url != f'{server.url}/login':
        await page.goto(f'{server.url}/login')
    await page.get_by_label('Email').fill(email)
    await page.get_by_label('Password').fill(password)
    await page.get_by_role('button', name='Log in').click()


async def admin_page(browser: Browser, server: LiveServer, email: str = ADMIN_EMAIL) -> Page:
    page = await new_page(browser)
    await log_in(page, server, email)
    await expect(page.get_by_text('Administration portal')).to_be_visible()
    return page


def row_of(page: Page, name: str) -> Locator:
    return page.get_by_role('row', name=name, exact=True)


async def choose_role(page: Page, dialog: Locator, role: str) -> None:
    await dialog.get_by_label('Role').click()
    await page.get_by_role('option', name=role, exact=True).click()
    await expect(page.get_by_role('listbox')).to_be_hidden()


async def add_user(page: Page, name: str, email: str, role: str = 'Member', *, screenshot: str = '') -> Locator:
    await page.get_by_role('button', name='+ Add user').click()
    dialog = page.get_by_role('dialog')
    await dialog.get_by_label('Name', exact=True).fill(name)
    await dialog.get_by_label('Email', exact=True).fill(email)
    await choose_role(page, dialog, role)
    if screenshot:
        await page.screenshot(path=ARTIFACTS / screenshot, animations='disabled')
    await dialog.get_by_role('button', name='Add user', exact=True).click()
    await expect(dialog).to_be_hidden()
    row = row_of(page, name)
    await expect(row).to_be_visible()
    return row


async def hover(page: Page, row: Locator) -> None:
    """What the guide asks first: 'Hover over the user'."""
    await row.hover()
    await expect(row.get_by_role('button', name='Edit user')).to_be_visible()


async def set_password_from_mail(browser: Browser, server: LiveServer, smtp: Inbox, email: str) -> Page:
    """Follow the newest set-password link mailed to `email`, choose NEW_PASSWORD, and land on /login."""
    links = smtp.links(email)
    assert links, f'no set-password link mailed to {email}'
    assert links[-1].startswith(f'{server.url}/set-password/'), links[-1]
    page = await new_page(browser)
    await page.goto(links[-1])
    await page.get_by_label('New password').fill(NEW_PASSWORD)
    await page.get_by_label('Confirm password').fill(NEW_PASSWORD)
    await page.get_by_role('button', name='Set password').click()
    await expect(page.get_by_role('button', name='Log in')).to_be_visible()
    return page


async def test_add_user_mails_a_set_password_link_and_the_new_users_log_in(
    portal: LiveServer, smtp: Inbox, browser: Browser
) -> None:
    page = await admin_page(browser, portal)
    member = await add_user(page, 'Max Member', 'max@example.com', 'Member', screenshot='users-add-dialog.png')
    await expect(page.get_by_text('Max Member was added. A set-password email is on its way.')).to_be_visible()
    await expect(member).to_contain_text('max@example.com')
    await expect(member).to_contain_text('Member')
    await expect(member.get_by_role('switch', name='Is enabled?')).to_be_checked()
    admin = await add_user(page, 'Alan Admin', 'alan@example.com', 'Admin')
    await expect(admin).to_contain_text('Admin')
    await expect(page.get_by_text('3 of 3 seats used')).to_be_visible()

    await smtp.wait_for(2)
    invitation = next(message for message in smtp.messages if message['To'] == 'max@example.com')
    body = invitation.get_body(preferencelist=('plain',)).get_content()
    assert ORGANIZATION in invitation['Subject'] and ADMIN_NAME in invitation['Subject'], invitation['Subject']
    assert ORGANIZATION in body and ADMIN_NAME in body, body

    member_page = await set_password_from_mail(browser, portal, smtp, 'max@example.com')
    await log_in(member_page, portal, 'max@example.com', NEW_PASSWORD)
    await expect(member_page.get_by_text(REFUSED)).to_be_visible()
    await expect(member_page.get_by_role('row', name=ADMIN_NAME)).to_have_count(0)

    admin_page_ = await set_password_from_mail(browser, portal, smtp, 'alan@example.com')
    await log_in(admin_page_, portal, 'alan@example.com', NEW_PASSWORD)
    await expect(admin_page_.get_by_text('Administration portal')).to_be_visible()
    await expect(row_of(admin_page_, 'Max Member')).to_be_visible()


async def test_row_buttons_show_on_hover_and_on_keyboard_focus(portal: LiveServer, browser: Browser) -> None:
    page = await admin_page(browser, portal)
    row = await add_user(page, 'Hugo Hover', 'hugo@example.com')
    buttons = [row.get_by_role('button', name=name) for name in ('Edit user', 'Resend password email', 'Delete user')]
    # Transparent until shown, not hidden, so that Shift+Tab from below the list reaches them too.
    actions = row.locator('.row-actions')
    await page.mouse.move(0, 0)
    await page.evaluate('document.activeElement.blur()')  # nothing in the row holds the focus
    await expect(actions).to_have_css('opacity', '0')

    await row.hover()
    await expect(actions).to_have_css('opacity', '1')
    for button in buttons:
        await expect(button).to_be_visible()
    await row.screenshot(path=ARTIFACTS / 'users-hovered-row.png', animations='disabled')

    await page.mouse.move(0, 0)
    await expect(actions).to_have_css('opacity', '0')
    await page.get_by_label('Search users').focus()
    for _ in range(20):  # the keyboard way in: Tab from the search field until the row holds the focus
        await page.keyboard.press('Tab')
        if await row.evaluate('row => row === document.activeElement'):
            break
    else:
        pytest.fail('Tab never reached the row of Hugo Hover')
    await expect(actions).to_have_css('opacity', '1')
    await page.keyboard.press('Tab')  # its "Is enabled?" switch
    await expect(row.get_by_role('switch', name='Is enabled?')).to_be_focused()
    for button in buttons:  # then the three buttons, each shown while it holds the focus
        await page.keyboard.press('Tab')
        await expect(button).to_be_focused()
        await expect(actions).to_have_css('opacity', '1')
    await page.screenshot(path=ARTIFACTS / 'users-focused-row.png', animations='disabled')

    await page.keyboard.press('Tab')  # out of the list, to the paging below it: the buttons fade
    assert not await row.evaluate('row => row.contains(document.activeElement)')
    await expect(actions).to_have_css('opacity', '0')
    for button in reversed(buttons):  # and back: Shift+Tab from below the list reaches the last row's buttons
        await page.keyboard.press('Shift+Tab')
        await expect(button).to_be_focused()
        await expect(actions).to_have_css('opacity', '1')


async def test_html_in_a_name_is_shown_as_text_in_the_browser(portal: LiveServer, browser: Browser) -> None:
    page = await admin_page(browser, portal)
    dialogs: list[str] = []
    page.on('dialog', lambda dialog: dialogs.append(dialog.message))
    name = '<b>Bold</b><img src=x onerror=alert(1)>'
    row = await add_user(page, name, 'markup@example.com')
    await expect(row.get_by_text(name, exact=True)).to_be_visible()  # the characters themselves
    assert await page.locator('b', has_text='Bold').count() == 0  # no element was made from them
    assert await page.locator('img[src="x"]').count() == 0
    await page.get_by_role('button', name='Activity').click()
    await expect(page.get_by_text(f'{ADMIN_NAME} added {name} (member)')).to_be_visible()
    assert dialogs == []


async def test_edit_user_changes_name_email_and_role(portal: LiveServer, browser: Browser) -> None:
    page = await admin_page(browser, portal)
    row = await add_user(page, 'Eve Edit', 'eve@example.com', 'Member')
    await hover(page, row)
    await row.get_by_role('button', name='Edit user').click()
    dialog = page.get_by_role('dialog')
    await expect(dialog.get_by_label('Name', exact=True)).to_have_value('Eve Edit')
    await expect(dialog.get_by_label('Email', exact=True)).to_have_value('eve@example.com')
    await dialog.get_by_label('Name', exact=True).fill('Eve Edited')
    await dialog.get_by_label('Email', exact=True).fill('eve.edited@example.com')
    await choose_role(page, dialog, 'Admin')
    await page.screenshot(path=ARTIFACTS / 'users-edit-dialog.png', animations='disabled')
    await dialog.get_by_role('button', name='Save').click()
    await expect(dialog).to_be_hidden()

    edited = row_of(page, 'Eve Edited')
    await expect(edited).to_be_visible()
    await expect(edited).to_contain_text('eve.edited@example.com')
    await expect(edited).to_contain_text('Admin')
    await expect(row_of(page, 'Eve Edit')).to_have_count(0)
    await page.reload()
    await expect(row_of(page, 'Eve Edited')).to_contain_text('eve.edited@example.com')


async def test_resend_password_email_until_the_hourly_limit(portal: LiveServer, smtp: Inbox, browser: Browser) -> None:
    page = await admin_page(browser, portal)
    row = await add_user(page, 'Rita Resend', 'rita@example.com')
    await smtp.wait_for(1)  # the invitation: the first of 3 'invite' sends allowed per user per hour
    notice = page.get_by_text('A password email is on its way to rita@example.com.')
    for sends in (2, 3):
        await hover(page, row)
        await row.get_by_role('button', name='Resend password email').click()
        await expect(notice.last).to_be_visible()
        await smtp.wait_for(sends)
        assert [message['To'] for message in smtp.messages] == ['rita@example.com'] * sends
    first, last = smtp.links('rita@example.com')[0], smtp.links('rita@example.com')[-1]
    assert first != last, 'each resend mails a new link'

    await hover(page, row)
    await row.get_by_role('button', name='Resend password email').click()
    limit = page.get_by_text('A password email was already sent to rita@example.com 3 times in the last hour.')
    await expect(limit).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'users-resend-limit.png', animations='disabled')
    await page.wait_for_timeout(500)
    assert len(smtp.messages) == 3, 'the refused resend mailed nothing'


async def test_delete_user_asks_for_confirmation(portal: LiveServer, browser: Browser) -> None:
    page = await admin_page(browser, portal)
    row = await add_user(page, 'Dan Delete', 'dan@example.com')
    await hover(page, row)
    await row.get_by_role('button', name='Delete user').click()
    dialog = page.get_by_role('dialog')
    await expect(dialog.get_by_text('Dan Delete', exact=True)).to_be_visible()
    await expect(dialog.get_by_text('dan@example.com', exact=True)).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'users-delete-dialog.png', animations='disabled')

    await dialog.get_by_role('button', name='Cancel').click()
    await expect(dialog).to_be_hidden()
    await expect(row).to_be_visible()

    await hover(page, row)
    await row.get_by_role('button', name='Delete user').click()
    await dialog.get_by_role('button', name='Delete', exact=True).click()
    await expect(dialog).to_be_hidden()
    await expect(row).to_have_count(0)
    await page.reload()
    await expect(row_of(page, ADMIN_NAME)).to_be_visible()
    await expect(row).to_have_count(0)


async def test_disabled_user_stays_disabled_and_cannot_log_in(
    portal: LiveServer, smtp: Inbox, browser: Browser
) -> None:
    page = await admin_page(browser, portal)
    row = await add_user(page, 'Dora Disabled', 'dora@example.com')
    await smtp.wait_for(1)
    dora = await set_password_from_mail(browser, portal, smtp, 'dora@example.com')

    switch = row.get_by_role('switch', name='Is enabled?')
    await expect(switch).to_be_checked()
    await expect(page.get_by_text('2 of 3 seats used')).to_be_visible()
    await switch.click()
    await expect(switch).not_to_be_checked()
    await expect(page.get_by_text('1 of 3 seats used')).to_be_visible()
    await page.reload()
    await expect(row_of(page, 'Dora Disabled').get_by_role('switch', name='Is enabled?')).not_to_be_checked()
    own = row_of(page, ADMIN_NAME).get_by_role('switch', name='Is enabled?')
    await expect(own).to_be_disabled()  # refused before anyone tries (the service refuses it too)
    await expect(own).to_be_checked()

    await log_in(dora, portal, 'dora@example.com', NEW_PASSWORD)
    await expect(dora.get_by_text('This account is disabled')).to_be_visible()
    await expect(dora.get_by_role('button', name='Log in')).to_be_visible()


async def invite_admin(page: Page, browser: Browser, server: LiveServer, smtp: Inbox, name: str, email: str) -> Page:
    """Add a second admin through the portal and log them in, in their own browser context."""
    sent = len(smtp.messages)
    await add_user(page, name, email, 'Admin')
    await smtp.wait_for(sent + 1)
    other = await set_password_from_mail(browser, server, smtp, email)
    await log_in(other, server, email, NEW_PASSWORD)
    await expect(other.get_by_text('Administration portal')).to_be_visible()
    return other


async def test_another_admins_changes_show_live_and_disabling_them_ends_their_session(
    portal: LiveServer, smtp: Inbox, browser: Browser
) -> None:
    page_a = await admin_page(browser, portal)
    page_b = await invite_admin(page_a, browser, portal, smtp, 'Bob Second', 'bob@example.com')

    await page_b.evaluate('window.notReloaded = true')
    await add_user(page_a, 'Liv Live', 'liv@example.com')
    liv_b = row_of(page_b, 'Liv Live')
    await expect(liv_b).to_be_visible()
    await expect(page_b.get_by_text('3 of 3 seats used')).to_be_visible()
    await row_of(page_a, 'Liv Live').get_by_role('switch', name='Is enabled?').click()
    await expect(liv_b.get_by_role('switch', name='Is enabled?')).not_to_be_checked()
    await expect(page_b.get_by_text('2 of 3 seats used')).to_be_visible()
    await page_b.screenshot(path=ARTIFACTS / 'users-live.png', animations='disabled')
    assert await page_b.evaluate('window.notReloaded === true'), 'page B was reloaded'

    await row_of(page_a, 'Bob Second').get_by_role('switch', name='Is enabled?').click()
    await expect(page_b.get_by_role('button', name='Log in')).to_be_visible()  # pushed: B did nothing
    await expect(page_b).to_have_url(f'{portal.url}/login')
    await page_b.goto(f'{portal.url}/admin')
    await expect(page_b.get_by_role('button', name='Log in')).to_be_visible()
    await log_in(page_b, portal, 'bob@example.com', NEW_PASSWORD)
    await expect(page_b.get_by_text('This account is disabled')).to_be_visible()


async def test_an_admins_own_row_refuses_before_anyone_asks(portal: LiveServer, browser: Browser) -> None:
    """Issue 14, point 6: "Is enabled?" and "Delete user" are disabled on one's own row, and say why; so is the Role
    in one's own edit form. Another user's row is not."""
    page = await admin_page(browser, portal)
    other = await add_user(page, 'Otto Other', 'otto@example.com')
    own = row_of(page, ADMIN_NAME)
    await own.hover()
    await expect(own.get_by_role('switch', name='Is enabled?')).to_be_disabled()
    delete = own.get_by_role('button', name='Delete user')
    await expect(delete).to_be_disabled()
    await delete.locator('xpath=..').hover()  # the tooltip sits on the disabled button's wrapper
    await expect(page.get_by_role('tooltip').filter(has_text='You cannot delete yourself')).to_be_visible()
    await own.get_by_role('switch', name='Is enabled?').locator('xpath=..').hover()
    await expect(page.get_by_role('tooltip').filter(has_text='You cannot disable yourself')).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'users-own-row.png', animations='disabled')

    await other.hover()
    await expect(other.get_by_role('switch', name='Is enabled?')).to_be_enabled()
    await expect(other.get_by_role('button', name='Delete user')).to_be_enabled()

    await own.hover()
    await own.get_by_role('button', name='Edit user').click()
    dialog = page.get_by_role('dialog')
    await expect(dialog.get_by_text('You cannot change your own role')).to_be_visible()
    role = dialog.locator('label.q-field', has_text='Role')  # Quasar marks the whole field aria-disabled
    await expect(role).to_have_attribute('aria-disabled', 'true')
    await page.screenshot(path=ARTIFACTS / 'users-own-edit.png', animations='disabled')

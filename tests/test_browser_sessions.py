"""Security in headless Chromium: a new browser id at login, logout as a POST for every tab, a tab that outlives
its login, the client address behind a proxy, and a page that runs under the Content-Security-Policy."""

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from db.models import LoginSession, Organization
from tests.conftest import ARTIFACTS, LiveServer
from tests.helpers import PASSWORD


def create_admin(server: LiveServer, organization: str, email: str) -> None:
    created = server.cli('create-admin', '--organization', organization, '--name', f'{organization} Admin',
                         '--email', email, '--password', '-', stdin=PASSWORD + '\n')  # fmt: skip
    assert created.returncode == 0, created.stderr


async def log_in(page: Page, server: LiveServer, email: str) -> None:
    await page.goto(f'{server.url}/login')
    await page.get_by_label('Email').fill(email)
    await page.get_by_label('Password').fill(PASSWORD)
    await page.get_by_role('button', name='Log in').click()
    await expect(page.get_by_role('heading', name='Administration portal', level=1)).to_be_visible()


async def session_cookie(context: BrowserContext) -> dict:
    [cookie] = [cookie for cookie in await context.cookies() if cookie['name'] == 'session']
    return cookie


async def test_a_cookie_planted_before_the_login_is_worth_nothing_after_it(live_server: LiveServer, browser) -> None:
    create_admin(live_server, 'Fixed Org', 'victim@example.com')
    victim = await browser.new_context()
    page = await victim.new_page()
    await page.goto(f'{live_server.url}/login')
    planted = await session_cookie(victim)  # what an attacker could have set, or read, before the login
    await log_in(page, live_server, 'victim@example.com')
    after = await session_cookie(victim)
    assert after['value'] != planted['value'] and after['httpOnly']

    attacker = await browser.new_context()
    await attacker.add_cookies([planted])
    intruder = await attacker.new_page()
    await intruder.goto(f'{live_server.url}/admin')
    await expect(intruder.get_by_role('button', name='Log in')).to_be_visible()
    await expect(intruder.get_by_text('Fixed Org')).to_have_count(0)

    await page.get_by_role('button', name='Log out').click()  # and again at logout
    await expect(page.get_by_role('button', name='Log in')).to_be_visible()
    assert (await session_cookie(victim))['value'] not in {after['value'], planted['value']}
    await attacker.clear_cookies()
    await attacker.add_cookies([after])  # the cookie of the ended session opens nothing either
    await intruder.goto(f'{live_server.url}/admin')
    await expect(intruder.get_by_role('button', name='Log in')).to_be_visible()


async def test_log_out_ends_the_session_in_every_tab_of_the_browser(live_server: LiveServer, browser: Browser) -> None:
    create_admin(live_server, 'Tabs Org', 'tabs@example.com')
    context = await browser.new_context()
    first, second = await context.new_page(), await context.new_page()
    await log_in(first, live_server, 'tabs@example.com')
    await second.goto(f'{live_server.url}/admin')
    await expect(second.get_by_text('Tabs Org').first).to_be_visible()
    logout = first.get_by_role('button', name='Log out')
    assert await logout.evaluate('button => button.form.method') == 'post'
    await logout.click()
    await expect(first.get_by_role('button', name='Log in')).to_be_visible()
    await expect(second.get_by_role('button', name='Log in')).to_be_visible()  # left by itself, at once
    await second.goto(f'{live_server.url}/admin')
    await expect(second.get_by_role('button', name='Log in')).to_be_visible()


async def test_a_tab_of_an_earlier_login_never_acts_for_the_next_account(
    live_server: LiveServer, browser: Browser, db
) -> None:
    create_admin(live_server, 'Org X', 'x@example.com')
    create_admin(live_server, 'Org Y', 'y@example.com')
    context = await browser.new_context()
    tab_x, tab_y = await context.new_page(), await context.new_page()
    await log_in(tab_x, live_server, 'x@example.com')
    await tab_x.get_by_role('button', name='Edit organization').click()
    await tab_x.get_by_role('dialog').get_by_label('Organization name').fill('Renamed by the old tab')

    await log_in(tab_y, live_server, 'y@example.com')  # the same browser, now as Y's admin
    await expect(tab_y.get_by_text('Org Y').first).to_be_visible()
    await expect(tab_x.get_by_role('button', name='Log in')).to_be_visible()  # the old tab was sent to /login
    assert sorted(await Organization.all().values_list('name', flat=True)) == ['Org X', 'Org Y']
    await tab_y.reload()
    await expect(tab_y.get_by_role('heading', name='Administration portal', level=1)).to_be_visible()  # Y stays in


async def test_the_client_address_comes_from_x_forwarded_for_only_from_a_trusted_proxy(
    live_server: LiveServer, browser: Browser, db
) -> None:
    create_admin(live_server, 'Proxy Org', 'proxy@example.com')
    context = await browser.new_context(extra_http_headers={'X-Forwarded-For': '203.0.113.77'})
    await log_in(await context.new_page(), live_server, 'proxy@example.com')  # from 127.0.0.1: the default proxy
    [session] = await LoginSession.filter(key_digest__not_isnull=True)
    assert session.client_address == '203.0.113.77'


@pytest.fixture
def other_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('FORWARDED_ALLOW_IPS', '10.1.2.3')  # some other proxy: 127.0.0.1 is not trusted


async def test_x_forwarded_for_from_an_untrusted_address_is_ignored(
    other_proxy, live_server: LiveServer, browser: Browser, db
) -> None:
    create_admin(live_server, 'Spoof Org', 'spoof@example.com')
    context = await browser.new_context(extra_http_headers={'X-Forwarded-For': '203.0.113.77'})
    await log_in(await context.new_page(), live_server, 'spoof@example.com')
    [session] = await LoginSession.filter(key_digest__not_isnull=True)
    assert session.client_address == '127.0.0.1'


async def test_the_portal_runs_under_its_content_security_policy(live_server: LiveServer, browser: Browser) -> None:
    create_admin(live_server, 'Policy Org', 'csp@example.com')
    page = await browser.new_page(viewport={'width': 1280, 'height': 900})
    refused: list[str] = []
    page.on('console', lambda message: refused.append(message.text) if 'Content Security Policy' in message.text
            else None)  # fmt: skip
    await log_in(page, live_server, 'csp@example.com')
    response = await page.goto(f'{live_server.url}/admin')
    assert "script-src 'self' 'unsafe-inline' 'unsafe-eval'" in response.headers['content-security-policy']
    await page.get_by_role('button', name='Edit organization').click()
    await expect(page.get_by_role('dialog').get_by_label('Organization name')).to_be_visible()
    await page.wait_for_timeout(350)  # the dialog's opening transition ends: Escape during it may be lost
    await page.keyboard.press('Escape')
    await expect(page.get_by_role('dialog')).to_have_count(0)  # closed, not still fading out beside the next one
    await page.get_by_role('button', name='+ Add user').click()
    await expect(page.get_by_role('dialog').get_by_label('Email')).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'csp-add-user.png')
    await page.keyboard.press('Escape')
    await page.goto(f'{live_server.url}/admin/subscriptions')
    await expect(page.get_by_role('button', name='Select Flexible')).to_be_visible()
    await page.goto(f'{live_server.url}/help')
    await expect(page.get_by_role('link', name='Back to administration')).to_be_visible()
    assert refused == []


async def test_without_smtp_the_admin_copies_the_link_shown_once(live_server: LiveServer, browser: Browser) -> None:
    create_admin(live_server, 'Link Org', 'links@example.com')
    context = await browser.new_context(viewport={'width': 1280, 'height': 900})
    await context.grant_permissions(['clipboard-read', 'clipboard-write'], origin=live_server.url)
    page = await context.new_page()
    await log_in(page, live_server, 'links@example.com')
    await page.get_by_role('button', name='+ Add user').click()
    dialog = page.get_by_role('dialog')
    await dialog.get_by_label('Name').fill('Lena Link')
    await dialog.get_by_label('Email').fill('lena@example.com')
    await dialog.get_by_role('button', name='Add user').click()
    shown = page.get_by_role('dialog').filter(has_text='Set-password link')
    await expect(shown.get_by_text('Give this link to Lena Link (lena@example.com) yourself.')).to_be_visible()
    link = await shown.get_by_label('Link').input_value()
    assert link.startswith(f'{live_server.url}/set-password/')
    await page.wait_for_timeout(400)  # the dialog's fade-in, for the screenshot only
    await page.screenshot(path=ARTIFACTS / 'password-link-desktop.png')
    await shown.get_by_role('button', name='Copy link').click()
    await expect(page.get_by_text('Link copied.')).to_be_visible()
    assert await page.evaluate('navigator.clipboard.readText()') == link
    await shown.get_by_role('button', name='Close').click()
    await expect(shown).to_be_hidden()

    row = page.get_by_role('row', name='Lena Link', exact=True)
    await row.hover()  # the guide's way: the row's buttons show on hover
    await row.get_by_role('button', name='Resend password email').click()
    again = page.get_by_role('dialog').filter(has_text='Set-password link')
    await page.set_viewport_size({'width': 390, 'height': 844})
    await expect(again.get_by_role('button', name='Copy link')).to_be_visible()
    assert await again.get_by_label('Link').input_value() != link  # a fresh one; the first stopped working
    await page.wait_for_timeout(400)
    await page.screenshot(path=ARTIFACTS / 'password-link-phone.png')

    visitor = await browser.new_page(viewport={'width': 390, 'height': 844})
    await visitor.goto(f'{live_server.url}/forgot-password')
    await expect(visitor.get_by_text('This Portico sends no email.')).to_be_visible()
    await visitor.screenshot(path=ARTIFACTS / 'forgot-password-without-smtp.png')
    await visitor.goto(link)
    await expect(visitor.get_by_text('This link is invalid or has expired.')).to_be_visible()

"""Sign in with Portico, end to end in Chromium: examples/product (Authlib's Starlette client) → Portico's /login →
back to the product, signed in with the right claims; then an admin disables that user in Portico, the product's
session ends (Back-Channel Logout) and refreshing fails. The same sign-in is driven once more by httpx-oauth's
generic OpenID client, an independent library."""

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from httpx_oauth.clients.openid import OpenID
from httpx_oauth.oauth2 import RefreshTokenError
from playwright.async_api import Browser, Page, Route, expect

from tests import test_browser_users
from tests.conftest import ARTIFACTS, Inbox, LiveServer, example_product, free_port
from tests.test_browser_users import (
    NEW_PASSWORD,
    ORGANIZATION,
    add_user,
    admin_page,
    log_in,
    new_page,
    row_of,
    set_password_from_mail,
)

portal = test_browser_users.portal  # the live server with SMTP and an admin of ORGANIZATION (a fixture)

PRODUCT_PORT = free_port()
PRODUCT = f'http://127.0.0.1:{PRODUCT_PORT}'
SECOND_REDIRECT = f'http://127.0.0.1:{free_port()}/httpx-oauth/callback'  # nothing listens: the redirect is caught


@pytest.fixture(autouse=True)
def product_url_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('PRODUCT_URL', f'{PRODUCT}/')


@pytest.fixture
def product(product_url_env, portal: LiveServer, tmp_path: Path) -> Iterator[str]:
    made = portal.cli('oidc-client', 'create', '--name', 'Example product', '--redirect-uri',
                      f'{PRODUCT}/auth/callback', '--redirect-uri', SECOND_REDIRECT, '--post-logout-redirect-uri',
                      f'{PRODUCT}/', '--backchannel-logout-uri', f'{PRODUCT}/auth/backchannel-logout')  # fmt: skip
    assert made.returncode == 0, made.stderr
    printed = dict(line.split('=', 1) for line in made.stdout.splitlines() if line.startswith('client_'))
    env = {**portal.env, 'PORTICO_URL': portal.url, 'PORTICO_CLIENT_ID': printed['client_id'],
           'PORTICO_CLIENT_SECRET': printed['client_secret'], 'PORT': str(PRODUCT_PORT)}  # fmt: skip
    portal.env.update(PORTICO_CLIENT_ID=printed['client_id'], PORTICO_CLIENT_SECRET=printed['client_secret'])
    with example_product(env, tmp_path / 'product.log') as url:
        yield url


async def code_through_the_browser(page: Page, authorization_url: str) -> str:
    """Open a sign-in URL in the signed-in browser (its cookies) and take the code from Portico's redirect to
    SECOND_REDIRECT, where nothing listens."""
    caught: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def catch(route: Route) -> None:
        answer = await route.fetch(max_redirects=0)  # with the browser context's cookies
        caught.set_result(answer.headers['location'])
        await route.fulfill(status=200, body='caught')

    await page.route(lambda url: url.startswith(authorization_url.split('?')[0]), catch)
    await page.goto(authorization_url)
    location = await asyncio.wait_for(caught, 10)
    assert location.startswith(SECOND_REDIRECT), location
    return parse_qs(urlsplit(location).query)['code'][0]


async def test_the_product_signs_a_user_in_with_portico_and_loses_them_when_an_admin_disables_them(
    portal: LiveServer, smtp: Inbox, browser: Browser, product: str
) -> None:
    admin = await admin_page(browser, portal)
    await add_user(admin, 'Mia Member', 'mia@example.com')
    await smtp.wait_for(1)
    mia = await set_password_from_mail(browser, portal, smtp, 'mia@example.com')

    await mia.goto(f'{product}/')
    await mia.get_by_role('link', name='Sign in with Portico').click()
    await expect(mia.get_by_text('Log in to continue to Example product.')).to_be_visible()
    await mia.screenshot(path=ARTIFACTS / 'sign-in-with-portico-desktop.png', animations='disabled')
    await mia.get_by_label('Email').fill('mia@example.com')  # on this /login?next=…, which goes back to the product
    await mia.get_by_label('Password').fill(NEW_PASSWORD)
    await mia.get_by_role('button', name='Log in').click()
    await expect(mia.locator('#name')).to_have_text('Mia Member')  # back in the product, signed in
    assert mia.url == f'{product}/'
    await expect(mia.locator('#email')).to_have_text('mia@example.com')
    await expect(mia.locator('#org')).to_have_text(ORGANIZATION)
    await expect(mia.locator('#plan')).to_have_text('no plan (trial)')
    await mia.get_by_role('button', name='Refresh session').click()
    await expect(mia.get_by_text('Tokens refreshed at')).to_be_visible()

    # A member who opens Portico's /login directly goes on to PRODUCT_URL, where signing in needs no password.
    direct = await new_page(browser)
    await log_in(direct, portal, 'mia@example.com', NEW_PASSWORD)
    await expect(direct.get_by_role('link', name='Sign in with Portico')).to_be_visible()
    assert direct.url == f'{product}/'
    await direct.get_by_role('link', name='Sign in with Portico').click()
    await expect(direct.locator('#name')).to_have_text('Mia Member')

    # The same sign-in through an independent library: httpx-oauth's generic OpenID client, by discovery.
    second = OpenID(portal.env['PORTICO_CLIENT_ID'], portal.env['PORTICO_CLIENT_SECRET'],
                    f'{portal.url}/.well-known/openid-configuration')  # fmt: skip
    verifier = secrets.token_urlsafe(48)
    url = await second.get_authorization_url(
        SECOND_REDIRECT, state='s2', scope=['openid', 'email', 'profile', 'organization'],
        code_challenge=create_s256_code_challenge(verifier), code_challenge_method='S256',
    )  # fmt: skip
    token = await second.get_access_token(await code_through_the_browser(mia, url), SECOND_REDIRECT, verifier)
    assert await second.get_id_email(token['access_token']) == (token_sub := (await second.get_profile(
        token['access_token']))['sub'], 'mia@example.com')  # fmt: skip
    renewed = await second.refresh_token(token['refresh_token'])

    # The admin disables Mia: the product hears it over the back channel and ends her session.
    await row_of(admin, 'Mia Member').get_by_role('switch', name='Is enabled?').click()
    await expect(admin.get_by_text('1 of 3 seats used')).to_be_visible()
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            logouts = (await client.get(f'{product}/auth/logouts')).json()
            if logouts:
                break
            await asyncio.sleep(0.1)
    assert [(logout['sub'], logout['sessions_ended']) for logout in logouts] == [(token_sub, 2)]
    await mia.goto(f'{product}/')
    await expect(mia.get_by_text('You are not signed in.')).to_be_visible()
    with pytest.raises(RefreshTokenError):
        await second.refresh_token(renewed['refresh_token'])  # and no refresh brings her back


async def test_the_login_page_of_a_sign_in_at_phone_width(portal: LiveServer, browser: Browser, product: str) -> None:
    context = await browser.new_context(viewport={'width': 390, 'height': 844}, is_mobile=True)
    page = await context.new_page()
    await page.goto(f'{product}/login')
    await expect(page.get_by_text('Log in to continue to Example product.')).to_be_visible()
    await expect(page.get_by_role('button', name='Log in')).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'sign-in-with-portico-phone.png', animations='disabled')

"""The product's use, as an admin sees it in Chromium: consumptions in the Token history under the chart, and
"Alert me below"; at desktop and phone width."""

import re

import httpx
from playwright.async_api import Browser, expect

from tests.billing_helpers import subscribe_through_stripe
from tests.conftest import ARTIFACTS, LiveServer
from tests.helpers import PASSWORD


async def test_the_token_history_shows_the_products_use_and_the_alert_is_set(
    live_server: LiveServer, browser: Browser
) -> None:
    created = live_server.cli('create-admin', '--organization', 'Usage Org', '--name', 'Uta Usage', '--email',
                              'uta@example.com', '--password', '-', stdin=PASSWORD + '\n')  # fmt: skip
    organization = int(re.search(r'organization id (\d+)', created.stdout).group(1))
    await subscribe_through_stripe(live_server, organization, plan='flexible')
    key = live_server.cli('api-key', 'create', '--name', 'product').stdout.strip()
    async with httpx.AsyncClient(base_url=f'{live_server.url}/api/v1', headers={'authorization': f'Bearer {key}'},
                                 timeout=10) as api:  # fmt: skip
        path = f'/organizations/{organization}/tokens'
        await api.post(f'{path}/grant', json={'amount': 5000, 'idempotency_key': 'start', 'reason': 'Welcome credit'})
        for n, amount in enumerate((120, 340, 75)):
            spent = await api.post(f'{path}/consume', json={'amount': amount, 'idempotency_key': f'r{n}',
                                                            'description': f'Rendered report {n + 1}'})  # fmt: skip
            assert spent.status_code == 200, spent.text

    page = await browser.new_page(viewport={'width': 1280, 'height': 900})
    await page.goto(f'{live_server.url}/login')
    await page.get_by_label('Email').fill('uta@example.com')
    await page.get_by_label('Password').fill(PASSWORD)
    await page.get_by_role('button', name='Log in').click()
    section = page.get_by_label('Subscription', exact=True)
    await expect(section.get_by_text('4,465')).to_be_visible()
    await section.get_by_role('button', name='Token history').click()
    dialog = page.get_by_role('dialog')
    await expect(dialog.get_by_text('Tokens used per day, last 30 days')).to_be_visible()
    await expect(dialog.get_by_text('Rendered report 3')).to_be_visible()
    await expect(dialog.get_by_text('Granted: Welcome credit')).to_be_visible()
    await expect(dialog.locator('canvas')).to_have_count(1)
    await page.wait_for_timeout(600)  # the chart's animation, for the screenshot only
    await page.screenshot(path=ARTIFACTS / 'token-history-desktop.png')
    await page.set_viewport_size({'width': 390, 'height': 844})
    await page.wait_for_timeout(600)
    await page.screenshot(path=ARTIFACTS / 'token-history-phone.png')
    await dialog.get_by_role('button', name='Close').click()

    await page.set_viewport_size({'width': 1280, 'height': 900})
    await section.get_by_role('button', name='Alert me below').click()
    alert = page.get_by_role('dialog')
    await alert.get_by_label('Alert me below').fill('1000')
    await alert.get_by_role('button', name='Save').click()
    await expect(section.get_by_text('You get an email when fewer than 1,000 tokens are left.')).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'alert-me-below.png')

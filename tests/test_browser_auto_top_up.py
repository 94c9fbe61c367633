"""Auto top-up in headless Chromium, against `python main.py` with offline billing: an admin sets it in the dialog,
the product's consumption takes the balance below the threshold, the packs are bought with the default card and
show in the section and the Token history; then the default card fails, and the section says it was switched off and
why. At desktop and phone width."""

import httpx
from playwright.async_api import Page, expect

from tests.conftest import ARTIFACTS, LiveServer
from tests.test_browser_recovery import failing_default_card
from tests.test_browser_subscription import emulator, section, settled, subscribed


async def shots(page: Page, name: str) -> None:
    await page.screenshot(path=ARTIFACTS / f'auto-top-up-{name}-desktop.png', animations='disabled')
    await page.set_viewport_size({'width': 390, 'height': 844})
    await page.screenshot(path=ARTIFACTS / f'auto-top-up-{name}-phone.png', animations='disabled', full_page=True)
    await page.set_viewport_size({'width': 1280, 'height': 1000})


async def test_auto_top_up_buys_below_the_threshold_then_says_why_it_stopped(live_server: LiveServer, browser) -> None:
    page = await subscribed(live_server, browser)
    [subscription] = (await emulator(live_server, '/v1/subscriptions'))['data']
    organization = int(subscription['metadata']['organization_id'])
    key = live_server.cli('api-key', 'create', '--name', 'product').stdout.strip()
    api = httpx.AsyncClient(base_url=f'{live_server.url}/api/v1/organizations/{organization}/tokens',
                            headers={'authorization': f'Bearer {key}'}, timeout=10)  # fmt: skip
    async with api:
        granted = await api.post('/grant', json={'amount': 1500, 'idempotency_key': 'start', 'reason': 'Welcome'})
        assert granted.status_code == 200, granted.text
        await expect(section(page).get_by_text('1,500', exact=True)).to_be_visible()
        await settled(page, live_server)

        # The dialog: what one top-up costs and which card pays it, then Save.
        await section(page).get_by_role('button', name='Auto top-up').click()
        dialog = page.get_by_role('dialog', name='Auto top-up')
        await expect(dialog.get_by_text('with Visa ending in 4242')).to_be_visible()
        await dialog.get_by_label('Top up below (tokens)').fill('1000')
        await dialog.get_by_label('Packs to buy').fill('2')
        await dialog.get_by_label('Top-ups per month, at most').fill('3')
        await expect(dialog.get_by_text('2 packs: 2,000 tokens for $20.00')).to_be_visible()
        await shots(page, 'dialog')
        await dialog.get_by_role('button', name='Save').click()
        settings_line = ('Auto top-up buys 2 packs (2,000 tokens) with the default card when fewer than 1,000 are '
                         'left, at most 3 times a month.')  # fmt: skip
        await expect(section(page).get_by_text(settings_line)).to_be_visible()

        # The product spends below 1,000: two packs are bought at once, in the background.
        spent = await api.post('/consume', json={'amount': 600, 'idempotency_key': 'r1', 'description': 'Report 1'})
        assert spent.status_code == 200 and spent.json()['balance'] == 900, spent.text
        await expect(section(page).get_by_text('2,900', exact=True)).to_be_visible(timeout=15_000)
        await settled(page, live_server)
        await shots(page, 'on')
        await section(page).get_by_role('button', name='Token history').click()
        history = page.get_by_role('dialog', name='Token history')
        await expect(history.get_by_text('Auto top-up', exact=True)).to_be_visible()
        await expect(history.get_by_text('2 packs (2,000 tokens)')).to_be_visible()
        await expect(history.get_by_text('+2,000')).to_be_visible()
        await page.wait_for_timeout(600)  # the chart's animation, for the screenshot only
        await shots(page, 'history')
        await history.get_by_role('button', name='Close').click()
        [intent] = (await emulator(live_server, '/v1/payment_intents', customer=subscription['customer']))['data'][:1]
        assert (intent['status'], intent['amount'], intent['metadata']['purpose']) == ('succeeded', 2000,
                                                                                       'auto_top_up')  # fmt: skip

        # The default card now fails: the next crossing is declined, and auto top-up switches itself off.
        await failing_default_card(live_server, subscription['customer'])
        spent = await api.post('/consume', json={'amount': 2000, 'idempotency_key': 'r2', 'description': 'Report 2'})
        assert spent.status_code == 200 and spent.json()['balance'] == 900, spent.text
    switched_off = section(page).get_by_text('Auto top-up was switched off: Your card was declined.')
    await expect(switched_off).to_be_visible(timeout=15_000)
    await expect(section(page).get_by_text('900', exact=True)).to_be_visible()
    await settled(page, live_server)
    await expect(page.get_by_text('Auto top-up is on.')).to_have_count(0, timeout=10_000)  # the toast of Save
    await shots(page, 'off')

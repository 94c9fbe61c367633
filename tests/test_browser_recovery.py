"""The hard moments of a subscription in headless Chromium, against `python main.py` with offline billing.

A failed renewal: the banner with what failed, "Pay now" refused while the card still fails, "Update payment
method" to make a working card the default and pay, and the banner gone.
"""

import asyncio
from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from tests.conftest import ARTIFACTS, LiveServer
from tests.test_browser_subscription import emulator, section, settled, subscribed


async def emulator_post(live_server: LiveServer, path: str, data: dict) -> dict:
    """POST to the emulator's Stripe API, as someone would act in Stripe's dashboard."""
    secret = (Path(live_server.env['DATA_DIR']) / 'stripe-emulator-key').read_text().strip()
    async with httpx.AsyncClient(base_url=f'{live_server.url}/emulator/stripe', timeout=5) as client:
        response = await client.post(path, data=data, headers={'Authorization': f'Bearer {secret}'})
    response.raise_for_status()
    return response.json()


async def failing_default_card(live_server: LiveServer, customer: str) -> str:
    """The customer's default card becomes Stripe's 4000 0000 0000 0341: it attaches, then every charge fails."""
    failing = await emulator_post(live_server, '/v1/payment_methods',
                                  {'type': 'card', 'card[token]': 'tok_chargeCustomerFail'})  # fmt: skip
    await emulator_post(live_server, f'/v1/payment_methods/{failing["id"]}/attach', {'customer': customer})
    await emulator_post(live_server, f'/v1/customers/{customer}',
                        {'invoice_settings[default_payment_method]': failing['id']})  # fmt: skip
    return failing['id']


async def the_renewal_fails(live_server: LiveServer) -> None:
    """The card on file starts failing, and the subscription is billed again now."""
    [subscription] = (await emulator(live_server, '/v1/subscriptions'))['data']
    failing = await failing_default_card(live_server, subscription['customer'])
    await emulator_post(live_server, f'/v1/subscriptions/{subscription["id"]}', {
        'default_payment_method': failing, 'billing_cycle_anchor': 'now', 'proration_behavior': 'none',
    })  # fmt: skip


async def mails(smtp, *words: str) -> list:
    """The mails whose subject holds every word, once at least one has arrived (they are sent in the background)."""
    for _ in range(100):
        found = [message for message in smtp.messages if all(word in message['Subject'] for word in words)]
        if found:
            return found
        await asyncio.sleep(0.05)
    return []


async def shots(page: Page, name: str) -> None:
    await page.screenshot(path=ARTIFACTS / f'recovery-{name}-desktop.png', animations='disabled')
    await page.set_viewport_size({'width': 390, 'height': 844})
    await page.screenshot(path=ARTIFACTS / f'recovery-{name}-phone.png', animations='disabled', full_page=True)
    await page.set_viewport_size({'width': 1280, 'height': 1000})


async def test_a_failed_renewal_is_paid_from_the_banner(smtp, live_server: LiveServer, browser) -> None:
    page = await subscribed(live_server, browser)
    await the_renewal_fails(live_server)
    banner = section(page).get_by_role('alert')
    await expect(banner).to_contain_text('The payment of $10.00 failed. Your card was declined.')
    await expect(banner).to_contain_text('Stripe tries again on')
    await expect(banner).to_contain_text('Everything keeps working until')
    await expect(section(page).get_by_text('Past due', exact=True)).to_be_visible()
    await settled(page, live_server)
    await shots(page, 'banner')

    # Every enabled admin is mailed once, with the way back to /admin.
    [mail] = await mails(smtp, 'failed')  # receipts of the paid invoices go to the billing email too
    assert mail['Subject'] == 'The payment of $10.00 for Buyer Org failed'
    assert f'{live_server.url}/admin' in mail.get_body(('plain',)).get_content()

    # The card still fails: "Pay now" says so, and the banner stays.
    await banner.get_by_role('button', name='Pay now').click()
    await expect(page.get_by_text('Your card was declined.').last).to_be_visible()
    await expect(banner).to_be_visible()

    # "Update payment method": make the working card the default, then pay from the dialog.
    await settled(page, live_server)
    await banner.get_by_role('button', name='Update payment method').click()
    dialog = page.get_by_role('dialog', name='Payment methods')
    await expect(dialog.get_by_text('$10.00 is owed.')).to_be_visible()
    visa = dialog.get_by_role('group', name='Visa ending in 4242')
    await visa.get_by_role('button', name='Make default').click()
    await expect(visa.get_by_text('Default', exact=True)).to_be_visible()
    await shots(page, 'update-payment-method')
    await dialog.get_by_role('button', name='Pay now').click()
    await expect(page.get_by_text('$10.00 paid. Thank you!')).to_be_visible()
    await expect(section(page).get_by_role('alert')).to_have_count(0)
    await expect(section(page).get_by_text('Active', exact=True)).to_be_visible()
    await settled(page, live_server)
    await expect(section(page).get_by_role('alert')).to_have_count(0)  # invoice.paid keeps it gone
    assert len(await mails(smtp, 'failed')) == 1  # the declined "Pay now" mailed nobody again
    assert await mails(smtp, 'Receipt for Buyer Org: invoice', '$10.00 paid')  # the invoice paid at last
    await shots(page, 'paid')

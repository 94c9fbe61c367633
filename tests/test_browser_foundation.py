"""In headless Chromium, against `python main.py`: log in, edit the organization, log out."""

from playwright.async_api import expect

from tests.conftest import ARTIFACTS, LiveServer
from tests.helpers import PASSWORD


async def test_admin_logs_in_edits_the_organization_and_logs_out(live_server: LiveServer, browser) -> None:
    created = live_server.cli(
        'create-admin', '--organization', 'Browser Org', '--name', 'Bea Browser', '--email', 'bea@example.com',
        '--password', PASSWORD,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    page = await browser.new_page(viewport={'width': 1280, 'height': 900})
    await page.goto(f'{live_server.url}/admin')
    await expect(page.get_by_role('button', name='Log in')).to_be_visible()
    await page.get_by_label('Email').fill('bea@example.com')
    await page.get_by_label('Password').fill(PASSWORD)
    await page.screenshot(path=ARTIFACTS / 'login.png')
    await page.get_by_role('button', name='Log in').click()
    await expect(page.get_by_role('heading', name='Administration portal', level=1)).to_be_visible()
    for section in ('Organization', 'Subscription', 'Users'):  # the contract's section headings
        await expect(page.get_by_role('heading', name=section, exact=True, level=2)).to_be_visible()

    await page.get_by_role('button', name='Edit organization').click()
    dialog = page.get_by_role('dialog')
    await dialog.get_by_label('Organization name').fill('Browser Org B.V.')
    await dialog.get_by_label('Billing email').fill('not an email')
    await dialog.get_by_label('Address line 1').fill('Keizersgracht 1')
    await dialog.get_by_label('Postal code').fill('1015 CJ')
    await dialog.get_by_label('City').fill('Amsterdam')
    await dialog.get_by_label('Country').fill('Netherl')
    await page.get_by_role('option', name='Netherlands').click()
    await dialog.get_by_label('VAT/tax ID').fill('NL123456789B01')
    await dialog.get_by_role('button', name='Save').click()
    await expect(dialog.get_by_text('Enter a valid email address')).to_be_visible()
    await page.screenshot(path=ARTIFACTS / 'organization-invalid.png')
    await dialog.get_by_label('Billing email').fill('billing@browser.example')
    await dialog.get_by_role('button', name='Save').click()
    await expect(page.get_by_text('Keizersgracht 1, 1015 CJ Amsterdam')).to_be_visible()
    await expect(page.get_by_text('Browser Org B.V.')).to_be_visible()
    await expect(dialog).to_be_hidden()
    await page.screenshot(path=ARTIFACTS / 'admin.png', full_page=True)

    await page.get_by_role('button', name='Log out').click()
    await expect(page.get_by_role('button', name='Log in')).to_be_visible()
    await page.goto(f'{live_server.url}/admin')
    await expect(page.get_by_role('button', name='Log in')).to_be_visible()

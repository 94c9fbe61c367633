"""In headless Chromium, on a phone's width: a long Activity entry wraps inside the page, whole, and cut nowhere."""

from playwright.async_api import Browser, expect

from tests.conftest import ARTIFACTS, LiveServer
from tests.test_browser_billing import logged_in

ADMIN_EMAIL = 'ada@example.com'


async def test_a_long_activity_entry_wraps_on_a_narrow_screen(live_server: LiveServer, browser: Browser) -> None:
    page = await logged_in(live_server, browser, ADMIN_EMAIL, name='Ada Admin', organization='Acme Corp',
                           viewport={'width': 390, 'height': 844})  # fmt: skip

    name = 'Internationale Vereinigung der Beispielunternehmen für Verwaltungsportale'
    email = f'{"accounts-payable-department-" * 2}europe@acme.example'  # one "word" wider than the screen
    await page.get_by_role('button', name='Edit organization').click()
    await page.get_by_label('Organization name').fill(name)
    await page.get_by_label('Billing email').fill(email)
    await page.get_by_role('button', name='Save').click()
    await expect(page.get_by_text('Organization saved.')).to_be_visible()
    await page.get_by_role('button', name='Activity').click()

    said = f"Ada Admin changed the organization's name to {name} and the billing email to {email}"
    entry = page.get_by_text(said, exact=True)
    await expect(entry).to_be_visible()
    await entry.scroll_into_view_if_needed()
    await (
        page.get_by_role('button', name='Activity')
        .locator('..')
        .screenshot(path=ARTIFACTS / 'activity-long-entry-phone.png', animations='disabled')
    )
    box = await entry.evaluate("""element => {
        const style = getComputedStyle(element), rect = element.getBoundingClientRect();
        return {scroll: element.scrollWidth, client: element.clientWidth, right: rect.right, page: innerWidth,
                height: rect.height, line: parseFloat(style.lineHeight) || 20, overflow: style.textOverflow,
                space: style.whiteSpace};
    }""")  # fmt: skip
    assert box['scroll'] <= box['client'] and box['right'] <= box['page'], box  # nothing sticks out or is hidden
    assert box['height'] > 3 * box['line'], box  # it took several lines
    assert (box['overflow'], box['space']) != ('ellipsis', 'nowrap'), box

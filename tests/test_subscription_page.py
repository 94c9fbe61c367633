"""The Subscription section through the simulated user: trial, live updates from webhooks, no Stripe calls to render."""

import asyncio

import stripe
from nicegui import app, ui
from nicegui.testing import User as UserSim
from starlette.routing import Mount

from db.models import SubscriptionMirror
from tests.helpers import create_admin, log_in


def running_services():
    return app.state.services


async def settled(gateway) -> int:
    """Wait until start-up work (the catalog sync, the resync) has stopped calling Stripe."""
    while True:
        before = gateway.calls
        await asyncio.sleep(0.3)
        if gateway.calls == before:
            return before


def mounted_emulator():
    return _mount().app.state.emulator


def _mount() -> Mount:
    return next(route for route in app.routes if isinstance(route, Mount) and route.path == '/emulator/stripe')


def emulator_client() -> stripe.StripeClient:
    """A script's view of the mounted emulator, through the real SDK, in-process."""
    mount = _mount()
    from services.billing.gateway import _InProcessHTTPClient

    return stripe.StripeClient(
        mount.app.state.emulator.api_key,
        base_addresses={'api': 'http://emulator'},
        http_client=_InProcessHTTPClient(mount.app),
    )


async def subscribe_behind_the_portals_back(organization_id: int, seats: int = 4) -> None:
    """As if someone subscribed in Stripe's dashboard: only the webhook tells Portico."""
    client = emulator_client()
    services = running_services()
    account = await services.billing.customers.ensure(await _organization(organization_id))
    pm = await client.v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    await client.v1.payment_methods.attach_async(pm.id, params={'customer': account.stripe_customer_id})
    price = await services.billing.prices.price_id('portico_professional_monthly')
    await client.v1.subscriptions.create_async(
        params={
            'customer': account.stripe_customer_id,
            'items': [{'price': price, 'quantity': seats}],
            'default_payment_method': pm.id,
            'metadata': {'organization_id': str(organization_id)},
        }
    )


async def _organization(organization_id: int):
    from db.models import Organization

    return await Organization.get(id=organization_id)


async def test_a_trial_organization_sees_its_trial_and_choose_subscription(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email)
    await user.should_see('Trial: 14 days left')
    await user.should_see('1 of 3 used')
    await user.should_see('Choose subscription')
    await user.should_not_see('Subscription settings')


async def test_an_open_page_updates_live_when_the_webhook_lands(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email)
    await user.should_see('Trial: 14 days left')
    await subscribe_behind_the_portals_back(admin.organization_id, seats=4)
    # The emulator delivers customer.subscription.created to POST /stripe/webhook; nobody reloads the page.
    await user.should_see('Professional', retries=60)
    await user.should_see('1 of 4 used', retries=20)
    await user.should_see('Renews on')
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).seats == 4


async def test_pages_make_no_stripe_calls_while_rendering(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email)
    await subscribe_behind_the_portals_back(admin.organization_id)
    await user.should_see('Professional', retries=60)
    gateway = running_services().billing.gateway
    await mounted_emulator().drain()
    before = await settled(gateway)
    for path in ('/admin', '/admin/subscriptions', '/help', '/admin'):
        await user.open(path)
    await user.should_see('Administration portal')
    assert gateway.calls == before


async def test_resync_rebuilds_the_mirror_and_reports_what_differed(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email)
    await subscribe_behind_the_portals_back(admin.organization_id, seats=4)
    await user.should_see('1 of 4 used', retries=60)
    await mounted_emulator().drain()  # every webhook is in, so none overwrites the drift below
    await SubscriptionMirror.filter(organization_id=admin.organization_id).update(seats=9)  # drifted
    services = running_services()
    from tests.helpers import session_of

    differences = await services.billing.resync.resync(session=await session_of(admin))
    assert differences == ['seats: 9 → 4']
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).seats == 4


async def test_resync_with_stripe_from_the_cogwheel_menu_and_at_start_up(user: UserSim) -> None:
    from pages.server import catch_up_with_stripe

    admin = await create_admin()
    await log_in(user, admin.email)
    await subscribe_behind_the_portals_back(admin.organization_id, seats=4)
    await user.should_see('1 of 4 used', retries=60)
    await mounted_emulator().drain()
    await SubscriptionMirror.filter(organization_id=admin.organization_id).update(seats=9)  # drifted
    resync = user.find(kind=ui.menu_item)  # in the cogwheel's menu; the label is the item's section
    resync.elements = {
        item for item in resync.elements
        if any(getattr(child, 'text', '') == 'Resync with Stripe' for child in item.descendants())
    }  # fmt: skip
    assert len(resync.elements) == 1
    resync.click()
    await user.should_see('Resynced with Stripe: seats: 9 → 4', retries=40)
    await user.should_see('1 of 4 used', retries=20)  # the section followed the mirror
    # What start-up runs in the background: the mirror catches up with what changed while Portico was down.
    await SubscriptionMirror.filter(organization_id=admin.organization_id).update(seats=7)
    await catch_up_with_stripe(running_services())
    assert (await SubscriptionMirror.get(organization_id=admin.organization_id)).seats == 4


async def test_help_renders_the_guide_with_the_first_time_purchase_linked_from_the_plans(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email)
    await user.open('/admin/subscriptions')
    [link] = user.find(kind=ui.link, content='How buying works').elements
    assert link.props['href'] == '/help#first-time-purchase'
    await user.open('/help')
    await user.should_see('Portico administrator guide')
    [guide] = user.find(kind=ui.markdown).elements
    assert '<h2 id="first-time-purchase">First time purchase</h2>' in guide.props['innerHTML']
    for section in ('Buy tokens', 'Edit payment method', 'Billing history', 'Cancelling subscription',
                    'Remove scheduled cancellation', 'Edit user', 'Resend password email', 'Delete user'):  # fmt: skip
        assert section in guide.content, section
    await user.should_see(admin.name)  # issue 14, point 14: the header keeps the name and "Log out"
    assert [button for button in user.find(kind=ui.button).elements if button.text == 'Log out']


async def test_two_open_pages_follow_a_token_purchase_and_the_end_of_the_subscription(
    user: UserSim, create_user
) -> None:
    from tests.billing_helpers import pay
    from tests.helpers import create_member, session_of

    admin = await create_admin()
    colleague = await create_member(admin, role='admin', name='Colleague Admin')
    await log_in(user, admin.email)
    other = create_user()
    await log_in(other, colleague.email)
    await subscribe_behind_the_portals_back(admin.organization_id, seats=4)
    price = await running_services().billing.prices.price_id('portico_flexible_monthly')
    subscription = (await emulator_client().v1.subscriptions.list_async()).data[0]
    await emulator_client().v1.subscriptions.update_async(
        subscription.id, params={'items': [{'id': subscription['items'].data[0].id, 'price': price}]}
    )  # now on Flexible, which has tokens
    for page in (user, other):
        await page.should_see('Flexible', retries=60)
        await page.should_see('+ Add tokens', retries=20)
    services = running_services()
    url = await services.billing.tokens.start_checkout(session=await session_of(admin), packs=2)
    response = await pay(_mount().app, url)
    assert response.status_code == 303, response.text
    for page in (user, other):  # the webhook lands; nobody reloads
        await page.should_see('2,000', retries=60)
    await emulator_client().v1.subscriptions.cancel_async(subscription.id)  # ended in Stripe's dashboard, say
    for page in (user, other):
        await page.should_see('Choose subscription', retries=60)
        await page.should_see('2 of 3 used', retries=20)  # the trial allowance again

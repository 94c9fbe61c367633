"""The built-in Stripe emulator inside the portal process: mounted only in offline mode, reachable by the real SDK."""

from pathlib import Path

import httpx
import stripe
from nicegui.testing import User as UserSim

from tests.conftest import LiveServer
from tests.helpers import create_admin, log_in


async def test_any_script_can_point_the_stripe_sdk_at_the_running_portal(live_server: LiveServer) -> None:
    data_dir = Path(live_server.env['DATA_DIR'])
    key = (data_dir / 'stripe-emulator-key').read_text().strip()
    assert (data_dir / 'stripe-emulator-webhook-secret').read_text().startswith('whsec_')
    client = stripe.StripeClient(key, base_addresses={'api': f'{live_server.url}/emulator/stripe'})
    customer = await client.v1.customers.create_async(params={'name': 'Script Co', 'email': 'script@example.com'})
    assert (await client.v1.customers.retrieve_async(customer.id)).name == 'Script Co'
    wrong_key = stripe.StripeClient('sk_test_wrong', base_addresses={'api': f'{live_server.url}/emulator/stripe'})
    try:
        await wrong_key.v1.customers.retrieve_async(customer.id)
        raise AssertionError('the emulator accepted a wrong key')
    except stripe.AuthenticationError:
        pass


async def test_every_page_shows_the_test_mode_badge_offline(user: UserSim) -> None:
    await user.open('/setup')
    await user.should_see('Test mode · offline billing')
    admin = await create_admin()
    for path in ('/login', '/forgot-password', '/set-password/not-a-real-token'):
        await user.open(path)
        await user.should_see('Test mode · offline billing')
    await log_in(user, admin.email)
    await user.should_see('Test mode · offline billing')
    for path in ('/admin/subscriptions', '/admin/subscriptions/complete?session_id=cs_test_unknown', '/help'):
        await user.open(path)
        await user.should_see('Test mode · offline billing')


async def test_with_a_stripe_key_there_is_no_emulator_and_no_badge(stripe_key_env, user: UserSim) -> None:
    await user.open('/setup')
    await user.should_not_see('Test mode · offline billing')
    response = await user.http_client.get('/emulator/stripe/v1/customers')
    assert response.status_code == 404


def test_the_emulator_state_lives_in_data_dir_apart_from_portico(live_server: LiveServer) -> None:
    data_dir = Path(live_server.env['DATA_DIR'])
    assert (data_dir / 'stripe-emulator.sqlite3').exists()
    assert httpx.get(f'{live_server.url}/emulator/stripe/v1/customers').status_code == 401

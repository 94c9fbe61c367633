"""Emulator-only protocol details: authentication, headers, form decoding, routing, key files."""

import stat

import httpx
import pytest
import stripe

from stripe_emulator import EmulatorConfig, create_app
from stripe_emulator.forms import decode
from stripe_emulator.resources import ROUTES


def test_bracket_form_decoding():
    raw = (
        'items[0][price]=price_a&items[0][quantity]=2&items[1][id]=si_b&items[1][deleted]=true'
        '&metadata[org]=7&metadata[empty]=&expand[]=latest_invoice&expand[]=customer&flag=false'
    )
    assert decode(raw) == {
        'items': [{'price': 'price_a', 'quantity': '2'}, {'id': 'si_b', 'deleted': 'true'}],
        'metadata': {'org': '7', 'empty': ''},
        'expand': ['latest_invoice', 'customer'],
        'flag': 'false',
    }
    assert decode('expand[0]=a&expand[1]=b.c') == {'expand': ['a', 'b.c']}
    assert decode('items[10][price]=k&items[2][price]=j') == {'items': [{'price': 'j'}, {'price': 'k'}]}


def test_every_route_is_checked_against_the_sdk_params():
    unchecked = [route.path for route in ROUTES if route.spec and route.spec_type is None]
    assert unchecked == []


def test_key_files_are_created_private_and_reused(tmp_path):
    config = EmulatorConfig(data_dir=tmp_path)
    first = create_app(config).state.emulator
    assert first.api_key.startswith('sk_test_emu_')
    assert first.webhook_secret.startswith('whsec_')
    for name in ('stripe-emulator-key', 'stripe-emulator-webhook-secret'):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    second = create_app(config).state.emulator
    assert (second.api_key, second.webhook_secret) == (first.api_key, first.webhook_secret)
    first.close()
    second.close()


@pytest.mark.asyncio
async def test_authentication_is_required(emulator_server):
    async with httpx.AsyncClient(base_url=emulator_server.api_url) as http:
        missing = await http.get('/v1/customers')
        wrong = await http.get('/v1/customers', headers={'Authorization': 'Bearer sk_test_wrongwrongwrong'})
        right = await http.get('/v1/customers', headers={'Authorization': f'Bearer {emulator_server.emulator.api_key}'})
    assert missing.status_code == wrong.status_code == 401
    assert wrong.json()['error']['type'] == 'invalid_request_error'
    assert wrong.json()['error']['message'].startswith('Invalid API Key provided: sk_test_')
    assert right.status_code == 200
    assert right.headers['Stripe-Version'] == '2026-10-28.endive'
    assert right.headers['Request-Id'].startswith('req_')
    with pytest.raises(stripe.AuthenticationError):
        bad = stripe.StripeClient('sk_test_nope', base_addresses={'api': emulator_server.api_url})
        await bad.v1.customers.list_async()


@pytest.mark.asyncio
async def test_unknown_urls_get_stripes_error(emulator_client):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await emulator_client.raw_request_async('get', '/v1/unicorns')
    assert raised.value.http_status == 404
    assert 'Unrecognized request URL (GET: /v1/unicorns)' in raised.value.user_message


@pytest.mark.asyncio
async def test_expand_in_lists_and_nested(emulator_client):
    v1 = emulator_client.v1
    customer = await v1.customers.create_async(params={'name': 'Nested'})
    pm = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_mastercard'}})
    await v1.payment_methods.attach_async(pm.id, params={'customer': customer.id})
    listed = await v1.payment_methods.list_async(params={'customer': customer.id, 'expand': ['data.customer']})
    assert listed.data[0].customer.name == 'Nested'
    assert listed.data[0].card.brand == 'mastercard'
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await v1.customers.retrieve_async(customer.id, params={'expand': ['name']})
    assert raised.value.param == 'expand'


@pytest.mark.asyncio
async def test_idempotent_card_error_is_replayed_not_retried(emulator_client):
    v1 = emulator_client.v1
    customer = await v1.customers.create_async(params={'name': 'Replay'})
    pm = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_chargeDeclined'}})
    for _ in range(2):
        with pytest.raises(stripe.CardError) as raised:
            await v1.payment_methods.attach_async(
                pm.id, params={'customer': customer.id}, options={'idempotency_key': f'attach-{pm.id}'}
            )
    assert raised.value.headers.get('Idempotent-Replayed') == 'true'

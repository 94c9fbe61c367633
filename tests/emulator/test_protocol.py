"""Emulator-only protocol details: authentication, headers, form decoding, routing, key and database files."""

import hashlib
import os
import stat

import httpx
import pytest
import stripe

from stripe_emulator import EmulatorConfig, create_app
from stripe_emulator.forms import decode
from stripe_emulator.resources import ROUTES

from .serving import EmulatorServer


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
    for name in ('stripe-emulator-key', 'stripe-emulator-webhook-secret', 'stripe-emulator-fingerprint-secret'):
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


def _modes(directory) -> dict[str, int]:
    """The emulator's files (the host's own test fixtures may put theirs beside them)."""
    return {
        path.name: stat.S_IMODE(path.stat().st_mode)
        for path in directory.iterdir()
        if path.name.startswith('stripe-emulator')
    }


def test_every_file_in_data_dir_is_private_even_with_a_lax_umask(tmp_path):
    previous = os.umask(0o022)  # what a host without `umask 077` gives new files: 0644
    try:
        emulator = create_app(EmulatorConfig(data_dir=tmp_path)).state.emulator
        with emulator.store.transaction():
            emulator.store.put({'id': 'cus_x', 'object': 'customer'})
        modes = _modes(tmp_path)
        emulator.close()
    finally:
        os.umask(previous)
    assert {'stripe-emulator.sqlite3', 'stripe-emulator.sqlite3-wal', 'stripe-emulator.sqlite3-shm'} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)


def test_files_left_readable_are_tightened_at_start(tmp_path):
    create_app(EmulatorConfig(data_dir=tmp_path)).state.emulator.close()
    for name in _modes(tmp_path):
        (tmp_path / name).chmod(0o644)
    emulator = create_app(EmulatorConfig(data_dir=tmp_path)).state.emulator
    try:
        modes = _modes(tmp_path)
    finally:
        emulator.close()
    assert 'stripe-emulator.sqlite3' in modes
    assert modes == dict.fromkeys(modes, 0o600)


@pytest.mark.asyncio
async def test_card_fingerprints_are_keyed_with_the_emulators_secret(emulator_client, tmp_path):
    v1 = emulator_client.v1
    first = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    second = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    other_card = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_mastercard'}})
    assert first.card.fingerprint == second.card.fingerprint != other_card.card.fingerprint
    number = '4242424242424242'
    for unkeyed in (hashlib.sha256(number.encode()), hashlib.sha256(f'emulator-card:{number}'.encode())):
        assert first.card.fingerprint not in unkeyed.hexdigest()
    # Another emulator (another DATA_DIR, so another secret) gives the same card another fingerprint.
    server = EmulatorServer(tmp_path).start()
    try:
        client = stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url})
        elsewhere = await client.v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    finally:
        server.stop()
    assert elsewhere.card.fingerprint != first.card.fingerprint

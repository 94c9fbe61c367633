"""Webhook delivery (emulator-only): signatures, retries while the endpoint is down, replays."""

import asyncio
import time

import pytest
import stripe

from stripe_emulator.webhooks import signature_header

from .receiver import Receiver
from .serving import EmulatorServer, ServerThread

pytestmark = pytest.mark.asyncio

FAST_RETRIES = {'retry_base_seconds': 0.05, 'retry_max_seconds': 0.2}


@pytest.fixture
def endpoint():
    """A port for the webhook endpoint that refuses connections until `receiver` starts listening on it."""
    thread = ServerThread()
    yield thread
    thread.stop()


def emulator_for(tmp_path, endpoint: ServerThread) -> EmulatorServer:
    return EmulatorServer(tmp_path, webhook_url=f'{endpoint.url}/stripe/webhook', **FAST_RETRIES)


async def test_deliveries_are_signed_like_stripe(tmp_path, endpoint):
    server = emulator_for(tmp_path, endpoint)
    receiver = Receiver(server.emulator.webhook_secret)
    endpoint.start(receiver.app())
    server.start()
    try:
        client = stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url})
        customer = await client.v1.customers.create_async(params={'name': 'Signed'})
        await server.emulator.drain(timeout=5)
    finally:
        server.stop()
    [delivery] = receiver.deliveries
    assert delivery.event_type == 'customer.created'
    assert delivery.headers['content-type'] == 'application/json; charset=utf-8'
    event = stripe.Webhook.construct_event(delivery.body, delivery.headers['stripe-signature'], receiver.secret)
    assert event.data.object.id == customer.id
    assert event.request.idempotency_key

    secret, payload = receiver.secret, delivery.body.decode()
    with pytest.raises(stripe.SignatureVerificationError):
        tampered = payload.replace('Signed', 'Forged')
        stripe.Webhook.construct_event(tampered, delivery.headers['stripe-signature'], secret)
    old = int(time.time()) - 600
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, signature_header(payload, secret, old), secret)
    # Byte for byte the header the SDK's own signer produces.
    expected = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=old)
    assert signature_header(payload, secret, old) == expected


async def test_every_event_arrives_once_after_the_endpoint_was_down(tmp_path, endpoint):
    server = emulator_for(tmp_path, endpoint).start()
    try:
        client = stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url})
        for n in range(4):
            await client.v1.customers.create_async(params={'name': f'Queued {n}'})
        # Nothing listens yet: the deliveries fail and back off. Then the endpoint comes up, sick at first.
        await asyncio.sleep(0.3)
        receiver = Receiver(server.emulator.webhook_secret, failures_left=3)
        endpoint.start(receiver.app())
        await server.emulator.drain(timeout=10)
        events = await client.v1.events.list_async(params={'type': 'customer.created', 'limit': 10})
    finally:
        server.stop()
    emitted = [event.id for event in reversed(events.data)]
    assert receiver.acknowledged == emitted  # each once, in the order they happened
    assert [d.status for d in receiver.deliveries[:3]] == [500, 500, 500]
    assert all(event.pending_webhooks == 0 for event in events.data)


async def test_failed_deliveries_back_off_exponentially(tmp_path, endpoint):
    server = EmulatorServer(
        tmp_path, webhook_url=f'{endpoint.url}/stripe/webhook', retry_base_seconds=0.1, retry_max_seconds=0.5
    ).start()
    try:
        receiver = Receiver(server.emulator.webhook_secret, failures_left=5)
        endpoint.start(receiver.app())
        client = stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url})
        await client.v1.customers.create_async(params={'name': 'Backed off'})
        await server.emulator.drain(timeout=10)
    finally:
        server.stop()
    times = [delivery.at for delivery in receiver.deliveries]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert [delivery.status for delivery in receiver.deliveries] == [500] * 5 + [200]
    # 0.1, 0.2, 0.4 s, then capped at 0.5 s
    for gap, expected in zip(gaps, (0.1, 0.2, 0.4, 0.5, 0.5), strict=True):
        assert expected * 0.9 <= gap <= expected + 0.25, gaps


async def test_replay_and_resend_endpoint(tmp_path, endpoint):
    server = emulator_for(tmp_path, endpoint)
    receiver = Receiver(server.emulator.webhook_secret)
    endpoint.start(receiver.app())
    server.start()
    try:
        client = stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url})
        await client.v1.products.create_async(params={'name': 'Replayed'})
        await server.emulator.drain(timeout=5)
        [first] = receiver.acknowledged
        stored = await client.v1.events.retrieve_async(first)
        assert stored.pending_webhooks == 0
        server.emulator.replay(first)
        response = await client.raw_request_async('post', f'/v1/test_helpers/events/{first}/resend')
        assert client.deserialize(response, api_mode='V1').id == first
        await server.emulator.drain(timeout=5)
    finally:
        server.stop()
    assert receiver.acknowledged == [first, first, first]

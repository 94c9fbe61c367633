"""State and the webhook queue survive a restart (emulator-only)."""

import pytest
import stripe

from .receiver import Receiver
from .serving import EmulatorServer, ServerThread

pytestmark = pytest.mark.asyncio


async def test_restart_keeps_objects_idempotency_and_pending_webhooks(tmp_path):
    endpoint = ServerThread()  # bound, not listening: deliveries fail until after the restart
    webhook_url = f'{endpoint.url}/stripe/webhook'
    first = EmulatorServer(tmp_path, webhook_url=webhook_url, retry_base_seconds=0.05, retry_max_seconds=0.2).start()
    client = stripe.StripeClient(first.emulator.api_key, base_addresses={'api': first.api_url})
    v1 = client.v1
    product = await v1.products.create_async(params={'name': 'Durable'})
    price = await v1.prices.create_async(
        params={'product': product.id, 'currency': 'eur', 'unit_amount': 990, 'recurring': {'interval': 'month'}}
    )
    customer = await v1.customers.create_async(params={'name': 'Persistent'}, options={'idempotency_key': 'cust-1'})
    pm = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    await v1.payment_methods.attach_async(pm.id, params={'customer': customer.id})
    subscription = await v1.subscriptions.create_async(
        params={'customer': customer.id, 'items': [{'price': price.id}], 'default_payment_method': pm.id}
    )
    events_before = await v1.events.list_async(params={'limit': 100})
    first.stop()

    second = EmulatorServer(tmp_path, webhook_url=webhook_url, retry_base_seconds=0.05, retry_max_seconds=0.2)
    assert second.emulator.api_key == first.emulator.api_key
    receiver = Receiver(second.emulator.webhook_secret)
    endpoint.start(receiver.app())
    second.start()
    try:
        client = stripe.StripeClient(second.emulator.api_key, base_addresses={'api': second.api_url})
        v1 = client.v1
        assert (await v1.customers.retrieve_async(customer.id)).name == 'Persistent'
        again = await v1.customers.create_async(params={'name': 'Persistent'}, options={'idempotency_key': 'cust-1'})
        assert again.id == customer.id
        restored = await v1.subscriptions.retrieve_async(subscription.id, params={'expand': ['latest_invoice']})
        assert restored.status == 'active'
        assert restored.latest_invoice.amount_paid == 990
        assert (await v1.events.list_async(params={'limit': 100})).data[0].id == events_before.data[0].id
        await second.emulator.drain(timeout=10)
    finally:
        second.stop()
        endpoint.stop()
    assert receiver.acknowledged == [event.id for event in reversed(events_before.data)]

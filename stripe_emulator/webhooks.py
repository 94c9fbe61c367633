"""Webhook delivery: signed POSTs to the configured endpoint, strictly in event order, retried until acknowledged.

The queue lives in the store, so a delivery that has not been acknowledged survives a restart.
"""

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time

import httpx

from .config import EmulatorConfig
from .store import Delivery, Store

log = logging.getLogger(__name__)


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header exactly as Stripe builds it."""
    mac = hmac.new(secret.encode(), f'{timestamp}.{payload}'.encode(), hashlib.sha256).hexdigest()
    return f't={timestamp},v1={mac}'


def set_threadsafe(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    """Set `event` of `loop` from any thread (or from the loop itself); nothing happens once the loop is closed."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        event.set()
    elif not loop.is_closed():
        loop.call_soon_threadsafe(event.set)


class WebhookWorker:
    """Delivers the queued events to `config.webhook_url`, signed with `secret`, with `config`'s timeout and retries."""

    def __init__(self, store: Store, config: EmulatorConfig, *, secret: str) -> None:
        self._store = store
        self._config = config
        self._secret = secret
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def wake(self) -> None:
        """Safe to call from any thread: new work may be waiting."""
        set_threadsafe(self._loop, self._wake)

    async def run(self) -> None:
        timeout, transport = self._config.webhook_timeout_seconds, self._config.webhook_transport
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
            while True:
                # Clear before looking, so a wake-up that arrives while we look is not lost.
                self._wake.clear()
                delivery = self._store.next_delivery()
                if delivery is None:
                    await self._wait(None)
                    continue
                delay = delivery.next_attempt_at - time.time()
                if delay > 0:
                    await self._wait(delay)
                    continue
                try:
                    await self._attempt(client, delivery)
                except Exception:  # a bug must not stop delivery for good; try again a little later
                    log.exception('webhook delivery %s failed unexpectedly', delivery.id)
                    await self._wait(self._config.retry_max_seconds)

    async def _wait(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _attempt(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        event = self._store.get(delivery.event_id, 'event')
        if event is None:  # its test clock was deleted with everything in it
            self._store.delivery_succeeded(delivery.id)
            return
        payload = json.dumps(event, indent=2)
        headers = {
            'Content-Type': 'application/json; charset=utf-8',
            'Stripe-Signature': signature_header(payload, self._secret, int(time.time())),
            'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        }
        try:
            response = await client.post(self._config.webhook_url, content=payload.encode(), headers=headers)
            error = None if 200 <= response.status_code < 300 else f'HTTP {response.status_code}'
        except (httpx.HTTPError, OSError) as exc:
            error = f'{type(exc).__name__}: {exc}'
        if error is None:
            self._acknowledged(delivery, event)
            return
        delay = min(self._config.retry_base_seconds * 2**delivery.attempts, self._config.retry_max_seconds)
        self._store.delivery_failed(delivery.id, next_attempt_at=time.time() + delay, error=error)
        log.info('webhook %s for %s failed (%s); retrying in %.2fs', delivery.id, event['type'], error, delay)

    def _acknowledged(self, delivery: Delivery, event: dict) -> None:
        with self._store.transaction():
            self._store.delivery_succeeded(delivery.id)
            event['pending_webhooks'] = self._store.pending_deliveries(event['id'])
            self._store.put(event)

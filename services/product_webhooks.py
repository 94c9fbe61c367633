"""Webhooks to the product, signed as Standard Webhooks specifies (`webhook-id`, `webhook-timestamp`,
`webhook-signature`), so that any product verifies them with that project's libraries.

An event is queued in the database in the transaction of the change it tells of (`enqueue`), so a change and its
event are never separated. The worker sends them in order per organization, retries with exponential back-off for
three days, and picks up after a restart where it stopped. A repeat carries the same `webhook-id`.
"""

import asyncio
import json
import logging
import secrets
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
from standardwebhooks.webhooks import Webhook

from db.models import ProductWebhook
from services.errors import ValidationFailed
from services.moments import now
from services.settings import Settings

log = logging.getLogger('portico.product_webhooks')
GIVE_UP_AFTER = timedelta(days=3)
MAX_BACKOFF = timedelta(hours=1)
POLL_SECONDS = 5.0
TIMEOUT_SECONDS = 10.0
EVENTS = ('organization.updated', 'subscription.updated', 'user.created', 'user.updated', 'user.disabled',
          'user.enabled', 'user.deleted', 'tokens.low_balance')  # fmt: skip
_WORKERS: 'weakref.WeakSet[ProductWebhooks]' = weakref.WeakSet()


def nudge() -> None:
    """Something was queued outside `enqueue` (a back-channel logout, services.oidc): wake the worker now."""
    for worker in list(_WORKERS):
        worker._wake.set()


@dataclass(frozen=True)
class QueueStatus:
    pending: int
    failed: int
    delivered: int
    failing: list[ProductWebhook]  # pending ones that failed at least once, oldest first


class ProductWebhooks:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.product_webhook_url
        self._signer = Webhook(settings.product_webhook_secret) if settings.product_webhook_secret else None
        self._wake = asyncio.Event()
        # Signs a Back-Channel Logout token at delivery (oidc.tokens), when Sign in with Portico is served.
        self.logout_token: Callable[[dict], str] | None = None
        _WORKERS.add(self)

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    async def enqueue(self, organization_id: int, event_type: str, data: dict) -> ProductWebhook | None:
        """Queue an event; call it inside the change's transaction. Nothing is queued without PRODUCT_WEBHOOK_URL."""
        assert event_type in EVENTS, event_type
        if not self.enabled:
            return None
        message_id = f'msg_{secrets.token_urlsafe(18)}'
        payload = {'type': event_type, 'timestamp': now().isoformat(), 'data': data}
        queued = await ProductWebhook.create(
            message_id=message_id, organization_id=organization_id, organization_key=organization_id,
            type=event_type, payload=payload, next_attempt_at=now(),
        )  # fmt: skip
        self._wake.set()
        return queued

    def headers(self, delivery: ProductWebhook, body: str) -> dict[str, str]:
        moment = now()
        return {
            'content-type': 'application/json',
            'webhook-id': delivery.message_id,
            'webhook-timestamp': str(int(moment.timestamp())),
            'webhook-signature': self._signer.sign(delivery.message_id, moment, body),
        }

    async def run(self) -> None:
        """The worker: deliver what is due, then wait for the next event or the next retry."""
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            while True:
                try:
                    await self.deliver_due(client)
                except Exception:
                    log.exception('product webhook delivery failed; it runs again in %s s', POLL_SECONDS)
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                except TimeoutError:
                    pass

    async def deliver_due(self, client: httpx.AsyncClient) -> int:
        """Send the oldest waiting event of each organization whose turn it is; the count sent."""
        sent = 0
        while True:
            heads = await self._heads()
            due = [delivery for delivery in heads if delivery.next_attempt_at <= now()]
            if not due:
                return sent
            for delivery in due:
                sent += await self._send(client, delivery)
            if any(not delivery.delivered_at for delivery in due):
                return sent  # a failure waits for its retry; the others were tried once this round

    async def _heads(self) -> list[ProductWebhook]:
        """Per organization and address, its oldest event still to deliver: the next ones wait for it (the order)."""
        waiting = ProductWebhook.filter(delivered_at=None, failed_at=None).order_by('organization_key', 'id')
        heads: dict[tuple, ProductWebhook] = {}
        for delivery in await waiting.limit(1000):
            heads.setdefault((delivery.kind, delivery.target, delivery.organization_key), delivery)
        return list(heads.values())

    def _request(self, delivery: ProductWebhook) -> dict | None:
        """What to POST where: a signed JSON event to the product, or a logout token as a form to a client."""
        if delivery.kind == 'backchannel_logout':
            if self.logout_token is None:
                return None
            token = self.logout_token({**delivery.payload, 'jti': delivery.message_id})
            return {'url': delivery.target, 'data': {'logout_token': token}}
        if not self.url:
            return None
        body = json.dumps(delivery.payload, separators=(',', ':'))
        return {'url': self.url, 'content': body, 'headers': self.headers(delivery, body)}

    async def _send(self, client: httpx.AsyncClient, delivery: ProductWebhook) -> int:
        request = self._request(delivery)
        error = 'nowhere to send it: no PRODUCT_WEBHOOK_URL, or no signing key for a logout token'
        if request is not None:
            try:
                response = await client.post(**request)
                error = '' if response.is_success else f'HTTP {response.status_code}'
            except httpx.HTTPError as failure:
                error = f'{type(failure).__name__}: {failure}'
        delivery.attempts += 1
        if not error:
            delivery.delivered_at, delivery.last_error = now(), ''
            await delivery.save(update_fields=['attempts', 'delivered_at', 'last_error'])
            return 1
        delivery.last_error = error[:2000]
        if now() - delivery.created_at > GIVE_UP_AFTER:
            delivery.failed_at = now()
            log.error('product webhook %s (%s) failed for 3 days and is given up: %s; `python main.py webhooks '
                      'resend %s` sends it again', delivery.id, delivery.type, error, delivery.id)  # fmt: skip
        else:
            delivery.next_attempt_at = now() + min(MAX_BACKOFF, timedelta(seconds=2 ** min(delivery.attempts, 20)))
            log.warning('product webhook %s (%s) failed (attempt %s): %s; next try at %s', delivery.id, delivery.type,
                        delivery.attempts, error, delivery.next_attempt_at.isoformat())  # fmt: skip
        await delivery.save(update_fields=['attempts', 'last_error', 'failed_at', 'next_attempt_at'])
        return 0


async def status() -> QueueStatus:
    waiting = ProductWebhook.filter(delivered_at=None, failed_at=None)
    return QueueStatus(
        pending=await waiting.count(),
        failed=await ProductWebhook.filter(failed_at__not_isnull=True).count(),
        delivered=await ProductWebhook.filter(delivered_at__not_isnull=True).count(),
        failing=await waiting.filter(attempts__gt=0).order_by('id').limit(20),
    )


async def resend(delivery_id: int) -> ProductWebhook:
    """Queue a delivered or given-up event once more, as it was (same `webhook-id`: the product can dedupe)."""
    delivery = await ProductWebhook.get_or_none(id=delivery_id)
    if delivery is None:
        raise ValidationFailed({'id': f'No product webhook has the id {delivery_id}.'})
    delivery.delivered_at = delivery.failed_at = None
    delivery.next_attempt_at, delivery.created_at = now(), now()  # three more days to get it through
    await delivery.save(update_fields=['delivered_at', 'failed_at', 'next_attempt_at', 'created_at'])
    return delivery

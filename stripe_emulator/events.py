"""Events: persisted first, then queued for webhook delivery in the same transaction as the change."""

import time
from typing import TYPE_CHECKING

from .config import API_VERSION
from .handlers import retriever
from .ids import new_id
from .listing import paged
from .params import get_str, get_strings
from .render import diff, render

if TYPE_CHECKING:
    from .context import Context


def emit(ctx: 'Context', event_type: str, doc: dict, previous: dict | None = None) -> dict:
    """Record `event_type` for `doc`; `previous` is the rendered object before the change, if it changed."""
    obj = render(ctx, doc)
    data: dict = {'object': obj}
    if previous is not None:
        data['previous_attributes'] = diff(previous, obj)
    has_endpoint = bool(ctx.config.webhook_url)
    event = {
        'id': new_id('evt'),
        'object': 'event',
        'api_version': API_VERSION,
        # Events carry real time even for test-clock objects, so the event list stays in the order things happened.
        'created': int(time.time()),
        'data': data,
        'livemode': False,
        'pending_webhooks': 1 if has_endpoint else 0,
        'request': {'id': ctx.request_id, 'idempotency_key': ctx.idempotency_key},
        'type': event_type,
    }
    ctx.store.put(event)
    if has_endpoint:
        ctx.store.enqueue_delivery(event['id'])
        ctx.emulator.wake_webhooks()
    return event


retrieve = retriever('event')


def list_events(ctx: 'Context', params: dict) -> dict:
    filters: dict = {}
    if event_type := get_str(params, 'type'):
        filters['type'] = event_type
    if types := get_strings(params, 'types'):
        filters['type'] = types
    return paged(ctx, params, 'event', '/v1/events', filters)


def resend(ctx: 'Context', params: dict, id: str) -> dict:
    """Emulator-only: queue the event for delivery once more (like "Resend" in Stripe's dashboard)."""
    return ctx.emulator.replay(id)

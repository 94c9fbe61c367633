"""Subscription schedules over the API: create (`from_subscription`), retrieve, list, update (phases), release."""

from .. import scheduling
from ..context import Context
from ..errors import invalid
from ..handlers import retriever, string_filters
from ..lifecycle import sub_now
from ..listing import paged
from ..params import get_str, merge_metadata
from ..router import Route


def create(ctx: Context, params: dict) -> dict:
    subscription_id = get_str(params, 'from_subscription')
    if not subscription_id:
        raise invalid('The emulator makes subscription schedules from a subscription: pass from_subscription.',
                      param='from_subscription')  # fmt: skip
    subscription = ctx.load('subscription', subscription_id, param='from_subscription')
    schedule = scheduling.from_subscription(ctx, subscription, metadata=params.get('metadata'))
    ctx.save_and_emit('customer.subscription.updated', subscription)
    return schedule


retrieve = retriever('subscription_schedule')


def list_schedules(ctx: Context, params: dict) -> dict:
    return paged(ctx, params, 'subscription_schedule', '/v1/subscription_schedules', string_filters(params, 'customer'))


def update(ctx: Context, params: dict, schedule: str) -> dict:
    doc = ctx.load('subscription_schedule', schedule)
    before = ctx.snapshot(doc)
    scheduling.set_phases(ctx, doc, params)
    doc['metadata'] = merge_metadata(doc['metadata'], params.get('metadata'))
    return ctx.save_and_emit_change('subscription_schedule.updated', doc, before)


def release(ctx: Context, params: dict, schedule: str) -> dict:
    doc = ctx.load('subscription_schedule', schedule)
    subscription = ctx.store.get(doc['subscription'] or '', 'subscription')
    at = sub_now(ctx, subscription) if subscription else ctx.now(doc['customer'])
    scheduling.release(ctx, doc, at=at)
    return doc


ROUTES = [
    Route('POST', '/v1/subscription_schedules', create, 'SubscriptionScheduleCreateParams'),
    Route('GET', '/v1/subscription_schedules', list_schedules, 'SubscriptionScheduleListParams'),
    Route('GET', '/v1/subscription_schedules/{schedule}', retrieve, 'SubscriptionScheduleRetrieveParams'),
    Route('POST', '/v1/subscription_schedules/{schedule}', update, 'SubscriptionScheduleUpdateParams'),
    Route('POST', '/v1/subscription_schedules/{schedule}/release', release, 'SubscriptionScheduleReleaseParams'),
]

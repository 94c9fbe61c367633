"""Subscription schedules: a subscription's next phases, applied by time (`subscription_schedules` create / update /
release), for changes at a period's end such as a downgrade.

The emulator makes schedules from a subscription (`from_subscription`), whose current period is the first phase.
Phases change at billing period ends only: at the renewal that starts a phase, its items (price and quantity) replace
the subscription's before the new period is invoiced. When the last phase ends, `end_behavior` decides: `release` (the
default) leaves the subscription going on its own, `cancel` ends it.
"""

from .billing import recurring_price
from .context import Context
from .errors import invalid
from .ids import new_id
from .params import get_dict, get_dicts, get_int, get_str, get_timestamp
from .periods import add_intervals

END_BEHAVIORS = ('cancel', 'none', 'release', 'renew')


def from_subscription(ctx: Context, subscription: dict, *, metadata: dict | None) -> dict:
    if subscription['status'] not in ('active', 'trialing', 'past_due'):
        raise invalid(
            f'A subscription that is {subscription["status"]} cannot get a schedule.', param='from_subscription'
        )
    if subscription.get('schedule'):
        raise invalid(f'The subscription {subscription["id"]} already has a schedule: {subscription["schedule"]}.',
                      param='from_subscription')  # fmt: skip
    item = subscription['items']['data'][0]
    now = ctx.now(subscription['customer'])
    schedule = {
        'id': new_id('sub_sched'), 'object': 'subscription_schedule', 'application': None,
        'billing_mode': {'flexible': {'proration_discounts': 'included'}, 'type': 'flexible', 'updated_at': now},
        'canceled_at': None, 'completed_at': None, 'created': now,
        'current_phase': {'end_date': item['current_period_end'], 'start_date': item['current_period_start']},
        'customer': subscription['customer'], 'customer_account': None, 'default_settings': _default_settings(),
        'end_behavior': 'release', 'livemode': False, 'metadata': dict(metadata or {}), 'pause_schedules': [],
        'phases': [_phase(subscription, [(i['price'], i['quantity']) for i in subscription['items']['data']],
                          item['current_period_start'], item['current_period_end'])],
        'released_at': None, 'released_subscription': None, 'status': 'active', 'subscription': subscription['id'],
        'test_clock': subscription.get('test_clock'),
    }  # fmt: skip
    subscription['schedule'] = schedule['id']
    ctx.save_and_emit('subscription_schedule.created', schedule)
    return schedule


def set_phases(ctx: Context, schedule: dict, params: dict) -> None:
    """Replace the phases (the first must be the current one) and the end behaviour."""
    if schedule['status'] not in ('active', 'not_started'):
        raise invalid(f'You cannot update a subscription schedule that is {schedule["status"]}.')
    subscription = ctx.load('subscription', schedule['subscription'])
    if end_behavior := get_str(params, 'end_behavior', choices=END_BEHAVIORS):
        schedule['end_behavior'] = end_behavior
    phases = get_dicts(params, 'phases')
    if phases is None:
        return
    if not phases:
        raise invalid('A subscription schedule needs at least one phase.', param='phases')
    current = schedule['current_phase'] or {}
    start = get_timestamp(phases[0], 'start_date') or current.get('start_date')
    if start != current.get('start_date'):
        raise invalid('The first phase must be the current phase: its start_date cannot change.',
                      param='phases[0][start_date]')  # fmt: skip
    period_end = subscription['items']['data'][0]['current_period_end']
    built = []
    for index, phase in enumerate(phases):
        items = _phase_items(ctx, phase, index)
        end = _phase_end(ctx, phase, index, start, items)
        if index == 0 and len(phases) > 1 and end != period_end:
            raise invalid("The emulator changes phases at a billing period's end: end the first phase at "
                          f'{period_end}.', param='phases[0][end_date]')  # fmt: skip
        built.append(_phase(subscription, items, start, end, proration=get_str(phase, 'proration_behavior')))
        start = end
    schedule['phases'] = built
    schedule['current_phase'] = {'start_date': built[0]['start_date'], 'end_date': built[0]['end_date']}


def release(ctx: Context, schedule: dict, *, at: int, subscription: dict | None = None) -> None:
    """The subscription goes on without the schedule (`subscription`: the caller's copy, which the caller saves)."""
    if schedule['status'] not in ('active', 'not_started'):
        raise invalid(f'You cannot release a subscription schedule that is currently {schedule["status"]}.')
    if subscription is not None:
        subscription['schedule'] = None
    elif (stored := ctx.store.get(schedule['subscription'] or '', 'subscription')) is not None:
        before = ctx.snapshot(stored)
        stored['schedule'] = None
        ctx.save_and_emit_change('customer.subscription.updated', stored, before)
    schedule.update(status='released', released_at=at, released_subscription=schedule['subscription'],
                    subscription=None, current_phase=None)  # fmt: skip
    ctx.save_and_emit('subscription_schedule.released', schedule)


def before_renewal(ctx: Context, subscription: dict, *, at: int) -> bool:
    """At a period's end: start the phase that begins now (its items replace the subscription's), or end the
    schedule after its last phase. Returns False when the subscription ends here instead of renewing."""
    schedule = ctx.store.get(subscription.get('schedule') or '', 'subscription_schedule')
    if schedule is None or schedule['status'] != 'active':
        return True
    starting = next((phase for phase in schedule['phases'] if phase['start_date'] == at), None)
    if starting is not None:
        for item, phase_item in zip(subscription['items']['data'], starting['items'], strict=False):
            item['price'], item['quantity'] = phase_item['price'], phase_item.get('quantity') or 1
        schedule['current_phase'] = {'start_date': starting['start_date'], 'end_date': starting['end_date']}
        ctx.save_and_emit('subscription_schedule.updated', schedule)
        return True
    if at < schedule['phases'][-1]['end_date']:
        return True
    if schedule['end_behavior'] == 'cancel':
        schedule.update(status='completed', completed_at=at, current_phase=None)
        ctx.save_and_emit('subscription_schedule.completed', schedule)
        return False
    release(ctx, schedule, at=at, subscription=subscription)
    return True


def _phase_items(ctx: Context, phase: dict, index: int) -> list[tuple[str, int]]:
    items = []
    for number, item in enumerate(get_dicts(phase, 'items') or []):
        param = f'phases[{index}][items][{number}]'
        price = recurring_price(ctx, get_str(item, 'price', required=True), param=f'{param}[price]')
        items.append((price['id'], get_int(item, 'quantity', minimum=1, maximum=10_000) or 1))
    if not items:
        raise invalid('Each phase needs items.', param=f'phases[{index}][items]', code='parameter_missing')
    return items


def _phase_end(ctx: Context, phase: dict, index: int, start: int, items: list[tuple[str, int]]) -> int:
    if end := get_timestamp(phase, 'end_date'):
        return end
    recurring = ctx.load('price', items[0][0])['recurring']
    if duration := get_dict(phase, 'duration'):
        unit = get_str(duration, 'interval', required=True, choices=('day', 'week', 'month', 'year'))
        return add_intervals(start, {'interval': unit, 'interval_count': get_int(duration, 'interval_count') or 1}, 1)
    iterations = get_int(phase, 'iterations', minimum=1, maximum=100) or 1
    return add_intervals(start, recurring, iterations)


def _phase(subscription: dict, items: list[tuple[str, int]], start: int, end: int, *,
           proration: str | None = None) -> dict:  # fmt: skip
    return {
        'add_invoice_items': [], 'application_fee_percent': None, 'billing_cycle_anchor': None,
        'billing_thresholds': None, 'collection_method': None, 'currency': subscription['currency'],
        'default_payment_method': None, 'description': None, 'discounts': [], 'end_date': end,
        'invoice_settings': None, 'metadata': {}, 'on_behalf_of': None,
        'items': [{'billing_thresholds': None, 'discounts': [], 'metadata': {}, 'plan': price, 'price': price,
                   'quantity': quantity, 'tax_rates': []} for price, quantity in items],
        'proration_behavior': proration or 'create_prorations', 'start_date': start, 'transfer_data': None,
        'trial_end': None,
    }  # fmt: skip


def _default_settings() -> dict:
    return {
        'application_fee_percent': None, 'automatic_tax': {'disabled_reason': None, 'enabled': False,
                                                           'liability': None},
        'billing_cycle_anchor': 'automatic', 'billing_thresholds': None, 'collection_method': 'charge_automatically',
        'default_payment_method': None, 'description': None,
        'invoice_settings': {'account_tax_ids': None, 'custom_fields': None, 'days_until_due': None,
                             'description': None, 'footer': None, 'issuer': {'type': 'self'}},
        'on_behalf_of': None, 'transfer_data': None,
    }  # fmt: skip


def subscription_ended(ctx: Context, subscription: dict, *, at: int) -> None:
    """A subscription with a schedule was canceled: so is the schedule, as on Stripe."""
    schedule = ctx.store.get(subscription.get('schedule') or '', 'subscription_schedule')
    if schedule is not None and schedule['status'] in ('active', 'not_started'):
        schedule.update(status='canceled', canceled_at=at, current_phase=None)
        ctx.save_and_emit('subscription_schedule.canceled', schedule)

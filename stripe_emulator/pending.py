"""Changes held back by `payment_behavior=pending_if_incomplete` until their invoice is paid (Stripe's pending
updates). The subscription keeps its items; `pending_update` says what will change and until when (23 hours). The
change applies when the invoice is paid (by 3-D Secure on the hosted page, or any other way), and lapses, its invoice
voided, when it expires first.
"""

import copy
from typing import TYPE_CHECKING

from . import invoicing

if TYPE_CHECKING:
    from .context import Context

EXPIRY_SECONDS = 23 * 3600


def hold(ctx: 'Context', subscription: dict, *, items: dict, anchor: int, status: str, invoice: dict,
         now: int) -> None:  # fmt: skip
    """Keep the change just applied to `subscription` aside, and put back its `items`, `anchor` and `status`. A change
    held before is replaced: its invoice is voided."""
    earlier = ctx.store.get((subscription.get('_pending') or {}).get('invoice') or '', 'invoice')
    if earlier is not None and earlier['status'] == 'open':
        invoicing.void(ctx, earlier, now=now)
    applied = subscription['items']['data']
    subscription['_pending'] = {'items': applied, 'billing_cycle_anchor': subscription['billing_cycle_anchor'],
                                'invoice': invoice['id']}  # fmt: skip
    subscription['pending_update'] = {
        'billing_cycle_anchor': None, 'cancel_at_period_end': None, 'discount': None, 'discounts': None,
        'expires_at': now + EXPIRY_SECONDS, 'metadata': None, 'subscription_items': copy.deepcopy(applied),
        'trial_end': None, 'trial_from_plan': None,
    }  # fmt: skip
    subscription.update(items=items, billing_cycle_anchor=anchor, status=status)


def apply(ctx: 'Context', subscription: dict, invoice: dict) -> None:
    """The invoice of a held change was paid: the change takes effect (the caller saves the subscription)."""
    held = subscription.get('_pending')
    if not held or held['invoice'] != invoice['id']:
        return
    subscription['items']['data'] = held['items']
    subscription['items']['total_count'] = len(held['items'])
    subscription['billing_cycle_anchor'] = held['billing_cycle_anchor']
    discard(subscription)
    ctx.emit('customer.subscription.pending_update_applied', subscription)


def discard(subscription: dict) -> None:
    subscription.pop('_pending', None)
    subscription['pending_update'] = None


def expires_at(subscription: dict) -> int | None:
    return (subscription.get('pending_update') or {}).get('expires_at')

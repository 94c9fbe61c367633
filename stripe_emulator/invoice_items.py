"""Pending invoice items: prorations kept for a subscription's next invoice, then claimed by it."""

from .context import Context
from .ids import new_id


def pending_lines(ctx: Context, subscription_id: str) -> list[dict]:
    """Prorations waiting for the subscription's next invoice, as lines (oldest first)."""
    items = ctx.store.find('invoiceitem', {'subscription': subscription_id, 'invoice': None}, oldest_first=True)
    lines = []
    for item in items:
        line = dict(item['_line'])
        line['parent'] = {**line['parent']}
        line['parent']['subscription_item_details'] = {
            **line['parent']['subscription_item_details'],
            'invoice_item': item['id'],
        }
        lines.append(line)
    return lines


def claim_pending(ctx: Context, invoice: dict) -> None:
    """Mark the pending invoice items that went into `invoice` as invoiced."""
    for line in invoice['lines']['data']:
        details = (line.get('parent') or {}).get('subscription_item_details') or {}
        if item_id := details.get('invoice_item'):
            item = ctx.store.get(item_id, 'invoiceitem')
            if item is not None:
                item['invoice'] = invoice['id']
                ctx.save(item)


def add_pending(ctx: Context, *, customer: dict, subscription: dict, lines: list[dict], now: int) -> None:
    """Keep proration lines as invoice items for the subscription's next invoice."""
    for line in lines:
        ctx.save({
            'id': new_id('ii'),
            'object': 'invoiceitem',
            'amount': line['amount'],
            'currency': line['currency'],
            'customer': customer['id'],
            'date': now,
            'description': line['description'],
            'discountable': line['discountable'],
            'invoice': None,
            'livemode': False,
            'metadata': {},
            'period': line['period'],
            'pricing': line['pricing'],
            'proration': True,
            'quantity': line['quantity'],
            'subscription': subscription['id'],
            'test_clock': customer.get('test_clock'),
            '_line': line,
        })  # fmt: skip

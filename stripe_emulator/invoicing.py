"""Invoices from lines: drafting, finalizing (numbers, customer balance) and collecting payment."""

from .cards import charge_outcome
from .context import Context
from .errors import StripeError, invalid
from .expand import includable
from .ids import new_id, random_token
from .intents import new_payment_intent
from .listing import list_object


def draft(
    ctx: Context,
    *,
    customer: dict,
    subscription: dict | None,
    lines: list[dict],
    billing_reason: str,
    period_start: int,
    period_end: int,
    created: int,
    currency: str,
    proration_date: int | None = None,
    preview: bool = False,
) -> dict:
    """An unsaved draft invoice; a preview gets an `upcoming_` id like Stripe's."""
    invoice_id = f'upcoming_{new_id("in")}' if preview else new_id('in')
    for line in lines:
        line['invoice'] = invoice_id
    parent = None
    if subscription is not None:
        parent = {
            'type': 'subscription_details',
            'quote_details': None,
            'subscription_details': {
                'metadata': dict(subscription.get('metadata') or {}),
                'subscription': subscription['id'],
                'subscription_proration_date': proration_date,
            },
        }
    invoice = {
        'id': invoice_id,
        'object': 'invoice',
        'account_country': 'US',
        'account_name': ctx.config.account_name,
        'account_tax_ids': None,
        'amount_due': 0,
        'amount_overpaid': 0,
        'amount_paid': 0,
        'amount_paid_off_stripe': 0,
        'amount_remaining': 0,
        'amount_shipping': 0,
        'application': None,
        'attempt_count': 0,
        'attempted': False,
        'auto_advance': not preview,
        'automatic_tax': {
            'disabled_reason': None,
            'enabled': False,
            'liability': None,
            'provider': None,
            'status': None,
        },
        'automatically_finalizes_at': None,
        'billing_reason': 'upcoming' if preview and billing_reason == 'subscription_cycle' else billing_reason,
        'collection_method': 'charge_automatically',
        'confirmation_secret': None,
        'created': created,
        'currency': currency,
        'custom_fields': None,
        'customer': customer['id'],
        'customer_account': None,
        'customer_address': customer.get('address'),
        'customer_email': customer.get('email'),
        'customer_name': customer.get('name'),
        'customer_phone': customer.get('phone'),
        'customer_shipping': None,
        'customer_tax_exempt': customer.get('tax_exempt', 'none'),
        'customer_tax_ids': [
            {'type': tax_id['type'], 'value': tax_id['value']}
            for tax_id in ctx.store.find('tax_id', {'customer': customer['id']}, oldest_first=True)
        ],
        'default_payment_method': None,
        'default_source': None,
        'default_tax_rates': [],
        'description': None,
        'discounts': [],
        'due_date': None,
        'effective_at': None,
        'ending_balance': None,
        'footer': customer['invoice_settings'].get('footer'),
        'from_invoice': None,
        'hosted_invoice_url': None,
        'invoice_pdf': None,
        'issuer': {'type': 'self'},
        'last_finalization_error': None,
        'latest_revision': None,
        'lines': list_object(lines, f'/v1/invoices/{invoice_id}/lines'),
        'livemode': False,
        'metadata': {},
        'next_payment_attempt': None,
        'number': None,
        'on_behalf_of': None,
        'parent': parent,
        'payment_settings': {'default_mandate': None, 'payment_method_options': None, 'payment_method_types': None},
        'period_end': period_end,
        'period_start': period_start,
        'post_payment_credit_notes_amount': 0,
        'pre_payment_credit_notes_amount': 0,
        'receipt_number': None,
        'rendering': None,
        'shipping_cost': None,
        'shipping_details': None,
        'starting_balance': 0,
        'statement_descriptor': None,
        'status': 'draft',
        'status_transitions': {
            'finalized_at': None,
            'marked_uncollectible_at': None,
            'paid_at': None,
            'voided_at': None,
        },
        'subtotal': 0,
        'subtotal_excluding_tax': 0,
        'test_clock': customer.get('test_clock'),
        'threshold_reason': None,
        'total': 0,
        'total_discount_amounts': [],
        'total_excluding_tax': 0,
        'total_pretax_credit_amounts': [],
        'total_taxes': [],
        'webhooks_delivered_at': None,
        '_payments': [],
    }
    _totals(invoice, customer['balance'])
    if preview:
        invoice['lines']['url'] = '/v1/invoices/upcoming/lines'
        invoice['lines']['total_count'] = len(lines)
    return invoice


def create(ctx: Context, invoice: dict) -> dict:
    ctx.save(invoice)
    ctx.emit('invoice.created', invoice)
    return invoice


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


def finalize(ctx: Context, invoice: dict, *, now: int) -> dict:
    customer = ctx.load('customer', invoice['customer'])
    invoice['number'] = f'{customer["invoice_prefix"]}-{customer["next_invoice_sequence"]:04d}'
    customer['next_invoice_sequence'] += 1
    _totals(invoice, customer['balance'], final=True)
    customer['balance'] = invoice['ending_balance']
    ctx.save(customer)
    invoice['status'] = 'open'
    invoice['effective_at'] = now
    invoice['status_transitions']['finalized_at'] = now
    token = hosted_token(ctx, invoice['id'])
    invoice['hosted_invoice_url'] = ctx.url(f'/invoice/{invoice["id"]}/{token}')
    invoice['invoice_pdf'] = ctx.url(f'/invoice/{invoice["id"]}/{token}/pdf')
    ctx.save(invoice)
    ctx.emit('invoice.finalized', invoice)
    return invoice


def attempt_payment(
    ctx: Context, invoice: dict, *, now: int, payment_method: str | None = None, subscription: dict | None = None
) -> StripeError | None:
    """Charge an open invoice; on success it is paid. `subscription`'s status follows the outcome (unsaved)."""
    if invoice['status'] != 'open':
        raise invalid(f'Invoice is already {invoice["status"]}.', code='invoice_not_open')
    if invoice['amount_remaining'] == 0:
        _mark_paid(ctx, invoice, now=now, subscription=subscription)
        return None
    pm_id = payment_method or _default_payment_method(ctx, invoice, subscription)
    pm = ctx.store.get(pm_id, 'payment_method') if pm_id else None
    invoice['attempt_count'] += 1
    invoice['attempted'] = True
    if pm is None or pm['customer'] != invoice['customer']:
        error: StripeError | None = invalid(
            'This customer has no attached payment source or default payment method. Please consider adding a '
            'default payment method.',
            code='resource_missing',
        )
    else:
        error = charge_outcome(pm)
    intent = new_payment_intent(
        ctx,
        amount=invoice['amount_remaining'],
        currency=invoice['currency'],
        customer=invoice['customer'],
        payment_method=pm['id'] if pm else None,
        description=_payment_description(invoice['billing_reason']),
        now=now,
        error=error,
        invoice=invoice['id'],
    )
    invoice['_payments'].append({'id': f'inpay_{random_token(24)}', 'payment_intent': intent['id'], 'created': now})
    if error is not None:
        ctx.save(invoice)
        ctx.emit('invoice.payment_failed', invoice)
        if subscription is not None and subscription['status'] in ('active', 'trialing'):
            subscription['status'] = 'past_due'
        return error
    if intent['status'] == 'processing':
        # A bank debit: the invoice stays open until the payment settles (`payment_settled`); a new subscription
        # stays `incomplete` meanwhile, as on Stripe.
        ctx.save(invoice)
        return None
    _mark_paid(ctx, invoice, now=now, subscription=subscription)
    return None


def payment_settled(ctx: Context, invoice_id: str, *, succeeded: bool, now: int) -> None:
    """A delayed payment of the invoice settled: it is paid, or the attempt failed like a declined card."""
    invoice = ctx.store.get(invoice_id, 'invoice')
    if invoice is None or invoice['status'] != 'open':
        return  # voided (or paid otherwise) while the payment was processing
    subscription_id = ((invoice.get('parent') or {}).get('subscription_details') or {}).get('subscription')
    subscription = ctx.store.get(subscription_id, 'subscription') if subscription_id else None
    before = ctx.snapshot(subscription) if subscription else None
    if succeeded:
        _mark_paid(ctx, invoice, now=now, subscription=subscription)
    else:
        ctx.emit('invoice.payment_failed', invoice)
        if subscription is not None and subscription['status'] in ('active', 'trialing'):
            subscription['status'] = 'past_due'
    if subscription is not None and ctx.snapshot(subscription) != before:
        ctx.save(subscription)
        ctx.emit('customer.subscription.updated', subscription, before)


def record_payment(ctx: Context, invoice: dict, intent: dict, *, now: int) -> None:
    """Mark an open invoice paid by a PaymentIntent that already succeeded (Checkout in payment mode)."""
    invoice['_payments'].append({'id': f'inpay_{random_token(24)}', 'payment_intent': intent['id'], 'created': now})
    invoice['attempt_count'] += 1
    invoice['attempted'] = True
    _mark_paid(ctx, invoice, now=now, subscription=None)


def paid_out_of_band(ctx: Context, invoice: dict, *, now: int, subscription: dict | None) -> None:
    if invoice['status'] != 'open':
        raise invalid(f'Invoice is already {invoice["status"]}.', code='invoice_not_open')
    invoice['amount_paid_off_stripe'] = invoice['amount_remaining']
    _mark_paid(ctx, invoice, now=now, subscription=subscription)


def void(ctx: Context, invoice: dict, *, now: int) -> dict:
    if invoice['status'] != 'open':
        raise invalid(f'You can only void open invoices; this one is {invoice["status"]}.')
    invoice['status'] = 'void'
    invoice['status_transitions']['voided_at'] = now
    invoice['amount_remaining'] = 0
    ctx.save(invoice)
    ctx.emit('invoice.voided', invoice)
    return invoice


def hosted_token(ctx: Context, invoice_id: str) -> str:
    """The unguessable part of an invoice's public URLs (hosted page, PDF), derived from the secret key."""
    return ctx.hosted_token(invoice_id)


@includable('invoice', 'payments')
def _payments(ctx: Context, invoice: dict) -> dict:
    stored = ctx.store.get(invoice['id'], 'invoice') or {}
    payments = []
    for payment in stored.get('_payments', []):
        intent = ctx.store.get(payment['payment_intent'], 'payment_intent') or {}
        paid = intent.get('status') == 'succeeded'
        payments.append({
            'id': payment['id'],
            'object': 'invoice_payment',
            'amount_paid': intent.get('amount_received') if paid else None,
            'amount_requested': intent.get('amount', 0),
            'created': payment['created'],
            'currency': invoice['currency'],
            'invoice': invoice['id'],
            'is_default': True,
            'livemode': False,
            'payment': {'type': 'payment_intent', 'payment_intent': payment['payment_intent']},
            'status': 'paid' if paid else 'open',
            'status_transitions': {'canceled_at': None, 'paid_at': payment['created'] if paid else None},
        })  # fmt: skip
    return list_object(payments, f'/v1/invoice_payments?invoice={invoice["id"]}')


def _totals(invoice: dict, balance: int, *, final: bool = False) -> None:
    # A negative customer balance is credit: it reduces what is due; a negative total becomes credit.
    total = sum(line['amount'] for line in invoice['lines']['data'])
    invoice['subtotal'] = invoice['subtotal_excluding_tax'] = total
    invoice['total'] = invoice['total_excluding_tax'] = total
    invoice['starting_balance'] = balance
    owed = total + balance
    invoice['amount_due'] = max(owed, 0)
    invoice['amount_remaining'] = invoice['amount_due'] - invoice['amount_paid']
    # Known only once the invoice is finalized; a draft or a preview says null, like Stripe.
    invoice['ending_balance'] = min(owed, 0) if final else None


def _mark_paid(ctx: Context, invoice: dict, *, now: int, subscription: dict | None) -> None:
    invoice['amount_paid'] += invoice['amount_remaining']
    invoice['amount_remaining'] = 0
    invoice['status'] = 'paid'
    invoice['status_transitions']['paid_at'] = now
    invoice['next_payment_attempt'] = None
    ctx.save(invoice)
    ctx.emit('invoice.paid', invoice)
    ctx.emit('invoice.payment_succeeded', invoice)
    if subscription is not None and subscription['status'] in ('incomplete', 'past_due', 'unpaid'):
        subscription['status'] = 'active'


def _default_payment_method(ctx: Context, invoice: dict, subscription: dict | None) -> str | None:
    if subscription is not None and subscription.get('default_payment_method'):
        return subscription['default_payment_method']
    customer = ctx.load('customer', invoice['customer'])
    return customer['invoice_settings']['default_payment_method']


def _payment_description(billing_reason: str) -> str:
    return {
        'subscription_create': 'Subscription creation',
        'subscription_cycle': 'Subscription update',
        'subscription_update': 'Subscription update',
    }.get(billing_reason, 'Payment for Invoice')

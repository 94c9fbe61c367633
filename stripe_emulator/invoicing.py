"""Invoices from lines: drafting, finalizing (numbers, customer balance, hosted URLs) and voiding."""

from .context import Context
from .errors import invalid
from .ids import new_id
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
                # optional, not nullable: present only for a proration
                **({'subscription_proration_date': proration_date} if proration_date is not None else {}),
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
        'customer_tax_ids': customer_tax_ids(ctx, customer),
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
    return ctx.save_and_emit('invoice.created', invoice)


def finalize(ctx: Context, invoice: dict, *, now: int) -> dict:
    customer = ctx.load('customer', invoice['customer'])
    invoice['number'] = f'{customer["invoice_prefix"]}-{customer["next_invoice_sequence"]:04d}'
    customer['next_invoice_sequence'] += 1
    _totals(invoice, customer['balance'], final=True)
    customer['balance'] = invoice['ending_balance']
    ctx.save(customer)
    invoice['status'] = 'open'
    invoice['customer_tax_ids'] = customer_tax_ids(ctx, customer)  # what a draft shows until now, kept from here on
    invoice['effective_at'] = now
    invoice['status_transitions']['finalized_at'] = now
    token = hosted_token(ctx, invoice['id'])
    invoice['hosted_invoice_url'] = ctx.url(f'/invoice/{invoice["id"]}/{token}')
    invoice['invoice_pdf'] = ctx.url(f'/invoice/{invoice["id"]}/{token}/pdf')
    return ctx.save_and_emit('invoice.finalized', invoice)


def void(ctx: Context, invoice: dict, *, now: int) -> dict:
    if invoice['status'] != 'open':
        raise invalid(f'You can only void open invoices; this one is {invoice["status"]}.')
    invoice['status'] = 'void'
    invoice['status_transitions']['voided_at'] = now
    invoice['amount_remaining'] = 0
    return ctx.save_and_emit('invoice.voided', invoice)


def customer_tax_ids(ctx: Context, customer: dict) -> list[dict]:
    """The customer's tax IDs as an invoice carries them: a draft follows the customer's, a finalized one keeps them."""
    docs = ctx.store.find('tax_id', {'customer': customer['id']}, oldest_first=True)
    return [{'type': tax_id['type'], 'value': tax_id['value']} for tax_id in docs]


def hosted_token(ctx: Context, invoice_id: str) -> str:
    """The unguessable part of an invoice's public URLs (hosted page, PDF), derived from the secret key."""
    return ctx.hosted_token(invoice_id)


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

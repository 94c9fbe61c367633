"""Charges: what a PaymentIntent's payment attempt leaves behind, and the disputes raised against them.

A card charge succeeds or fails at once. A SEPA Direct Debit charge is `pending` until it settles (see
`settlement`); Stripe names charges of payment methods other than cards `py_…`, and so does the emulator.
"""

from .context import Context
from .errors import StripeError
from .expand import includable
from .ids import new_id
from .listing import list_object
from .render import render

DAY = 86400
# Visa's reason codes for the disputes Stripe's test cards raise.
_NETWORK_REASON_CODES = {'fraudulent': '10.4', 'product_not_received': '13.1'}


def build(ctx: Context, intent: dict, pm: dict, *, now: int, error: StripeError | None = None) -> dict:
    """A new charge for `intent` paid with `pm` (unsaved): failed with `error`, pending (SEPA) or succeeded."""
    sepa = pm['type'] == 'sepa_debit'
    status = 'failed' if error else 'pending' if sepa else 'succeeded'
    amount = intent['amount']
    return {
        'id': new_id('py' if sepa else 'ch'),
        'object': 'charge',
        'amount': amount,
        'amount_captured': 0 if error else amount,
        'amount_refunded': 0,
        'application': None,
        'application_fee': None,
        'application_fee_amount': None,
        'balance_transaction': None,
        'billing_details': dict(pm['billing_details']),
        'calculated_statement_descriptor': _descriptor(ctx.config.account_name),
        'captured': error is None,
        'created': now,
        'currency': intent['currency'],
        'customer': intent['customer'],
        'description': intent['description'],
        'disputed': False,
        'failure_balance_transaction': None,
        'failure_code': error.code if error else None,
        'failure_message': error.message if error else None,
        'fraud_details': {},
        'livemode': False,
        'metadata': dict(intent['metadata']),
        'on_behalf_of': None,
        'outcome': _outcome(pm, error),
        'paid': status == 'succeeded',
        'payment_intent': intent['id'],
        'payment_method': pm['id'],
        'payment_method_details': _payment_method_details(pm, amount if error is None else None),
        'radar_options': {},
        'receipt_email': None,
        'receipt_number': None,
        'receipt_url': None,
        'refunded': False,
        'review': None,
        'shipping': None,
        'source': None,
        'source_transfer': None,
        'statement_descriptor': None,
        'statement_descriptor_suffix': None,
        'status': status,
        'transfer_data': None,
        'transfer_group': None,
    }


def record(ctx: Context, charge: dict) -> dict:
    """Save a new charge and emit the event Stripe sends for its status."""
    return ctx.save_and_emit(f'charge.{charge["status"]}', charge)


def settle(ctx: Context, charge: dict) -> None:
    """A pending charge went through."""
    charge.update(status='succeeded', paid=True)
    ctx.save_and_emit('charge.succeeded', charge)


def fail(ctx: Context, charge: dict, *, code: str | None, message: str | None) -> None:
    """A pending charge was refused by the bank."""
    charge.update(status='failed', paid=False, captured=False, amount_captured=0)
    charge.update(failure_code=code, failure_message=message)
    charge['outcome'] = {**charge['outcome'], 'network_status': 'declined_by_network', 'type': 'issuer_declined',
                         'seller_message': message or 'The bank refused this payment.'}  # fmt: skip
    ctx.save_and_emit('charge.failed', charge)


def open_dispute(ctx: Context, charge: dict, *, reason: str, status: str, now: int) -> dict:
    """The cardholder (or account holder) disputes the charge with their bank: `charge.dispute.created`."""
    card = (charge['payment_method_details'] or {}).get('card')
    network_reason = _NETWORK_REASON_CODES.get(reason) if card else None
    inquiry = status.startswith('warning_')
    dispute = {
        'id': new_id('du'),
        'object': 'dispute',
        'amount': charge['amount'] - charge['amount_refunded'],
        'balance_transactions': [],
        'charge': charge['id'],
        'created': now,
        'currency': charge['currency'],
        'enhanced_eligibility_types': [],
        'evidence': {**dict.fromkeys(_EVIDENCE_FIELDS), 'enhanced_evidence': {}},
        'evidence_details': {
            'due_by': now + 7 * DAY,
            'enhanced_eligibility': {},
            'has_evidence': False,
            'past_due': False,
            'submission_count': 0,
            'submission_method': 'not_submitted',
        },
        'intended_submission_method': None,
        'is_charge_refundable': inquiry,
        'livemode': False,
        'metadata': {},
        'network_reason_code': network_reason,
        'payment_intent': charge['payment_intent'],
        'reason': reason,
        'status': status,
    }
    if card:
        dispute['payment_method_details'] = {
            'card': {'brand': card['brand'], 'case_type': 'inquiry' if inquiry else 'chargeback',
                     'network': card['network'], 'network_reason_code': network_reason},
            'type': 'card',
        }  # fmt: skip
    ctx.save(dispute)
    charge['disputed'] = True
    ctx.save(charge)
    ctx.emit('charge.dispute.created', dispute)
    return dispute


@includable('charge', 'refunds')
def _refunds(ctx: Context, charge: dict) -> dict:
    docs = ctx.store.find('refund', {'charge': charge['id']})
    return {**list_object([render(ctx, doc) for doc in docs], f'/v1/charges/{charge["id"]}/refunds'),
            'total_count': len(docs)}  # fmt: skip


def _descriptor(account_name: str) -> str:
    text = ''.join(char for char in account_name.upper() if char.isascii() and (char.isalnum() or char in ' .-'))
    return text.strip()[:22] or 'STRIPE EMULATOR'


def _outcome(pm: dict, error: StripeError | None) -> dict:
    outcome = {
        'advice_code': None,
        'network_advice_code': None,
        'network_decline_code': None,
        'network_status': 'approved_by_network',
        'reason': None,
        'risk_level': 'normal' if pm['type'] == 'card' else 'not_assessed',
        'seller_message': 'Payment complete.',
        'type': 'authorized',
    }
    if error is not None:
        decline = error.decline_code
        outcome.update(network_status='declined_by_network', reason=decline, type='issuer_declined')
        outcome['seller_message'] = (
            'The bank did not return any further details with this decline.'
            if decline in (None, 'generic_decline')
            else f'The bank returned the decline code `{decline}`.'
        )
    return outcome


def _payment_method_details(pm: dict, amount_authorized: int | None) -> dict:
    if pm['type'] == 'sepa_debit':
        account = pm['sepa_debit']
        return {
            'sepa_debit': {
                'bank_code': account['bank_code'],
                'branch_code': account['branch_code'],
                'country': account['country'],
                'fingerprint': account['fingerprint'],
                'last4': account['last4'],
                'mandate': pm.get('_mandate'),
            },
            'type': 'sepa_debit',
        }
    card = pm['card']
    return {
        'card': {
            'amount_authorized': amount_authorized,
            'authorization_code': None,
            'brand': card['brand'],
            'checks': dict(card['checks']),
            'country': card['country'],
            'electronic_commerce_indicator': None,
            'exp_month': card['exp_month'],
            'exp_year': card['exp_year'],
            'fingerprint': card['fingerprint'],
            'funding': card['funding'],
            'installments': None,
            'last4': card['last4'],
            'mandate': None,
            'network': card['brand'],
            'network_transaction_id': None,
            'regulated_status': card['regulated_status'],
            'three_d_secure': None,
            'transaction_link_id': None,
            'wallet': None,
        },
        'type': 'card',
    }


_EVIDENCE_FIELDS = (
    'access_activity_log', 'billing_address', 'cancellation_policy', 'cancellation_policy_disclosure',
    'cancellation_rebuttal', 'customer_communication', 'customer_email_address', 'customer_name',
    'customer_purchase_ip', 'customer_signature', 'duplicate_charge_documentation', 'duplicate_charge_explanation',
    'duplicate_charge_id', 'product_description', 'receipt', 'refund_policy', 'refund_policy_disclosure',
    'refund_refusal_explanation', 'service_date', 'service_documentation', 'shipping_address', 'shipping_carrier',
    'shipping_date', 'shipping_documentation', 'shipping_tracking_number', 'uncategorized_file',
    'uncategorized_text',
)  # fmt: skip

"""Refunds: give back all or part of a succeeded charge, named by its PaymentIntent or by itself."""

from ..context import Context
from ..errors import StripeError, invalid
from ..handlers import lister, retriever
from ..ids import new_id
from ..money import format_money
from ..params import get_int, get_str, merge_metadata
from ..router import Route

REASONS = ('duplicate', 'fraudulent', 'requested_by_customer')


def create(ctx: Context, params: dict) -> dict:
    requested = get_int(params, 'amount', minimum=1)
    reason = get_str(params, 'reason', choices=REASONS)
    metadata = merge_metadata({}, params.get('metadata'))
    charge = _charge_to_refund(ctx, get_str(params, 'payment_intent'), get_str(params, 'charge'))
    remaining = charge['amount_captured'] - charge['amount_refunded']
    if remaining <= 0:
        raise StripeError(f'Charge {charge["id"]} has already been refunded.', code='charge_already_refunded')
    amount = remaining if requested is None else requested
    if amount > remaining:
        currency = charge['currency']
        raise invalid(
            f'Refund amount ({format_money(amount, currency)}) is greater than unrefunded amount on charge '
            f'({format_money(remaining, currency)})',
            param='amount',
        )
    pm = ctx.store.get(charge['payment_method'] or '', 'payment_method') or {}
    refund = {
        'id': new_id('re'),
        'object': 'refund',
        'amount': amount,
        'balance_transaction': None,
        'charge': charge['id'],
        'created': ctx.now(charge['customer']),
        'currency': charge['currency'],
        'customer': charge['customer'],
        'customer_account': None,
        'metadata': metadata,
        'payment_intent': charge['payment_intent'],
        'payment_method': charge['payment_method'],
        'reason': reason,
        'receipt_number': None,
        'source_transfer_reversal': None,
        'status': 'succeeded',
        'transfer_reversal': None,
    }
    if pm.get('type') == 'card':
        refund['destination_details'] = {
            'card': {'reference_status': 'pending', 'reference_type': 'acquirer_reference_number', 'type': 'refund'},
            'type': 'card',
        }
    ctx.save(refund)
    charge['amount_refunded'] += amount
    charge['refunded'] = charge['amount_refunded'] >= charge['amount']
    ctx.save(charge)
    ctx.emit('refund.created', refund)
    ctx.emit('charge.refunded', charge)
    return refund


def _charge_to_refund(ctx: Context, intent_id: str | None, charge_id: str | None) -> dict:
    if intent_id:
        intent = ctx.load('payment_intent', intent_id, param='payment_intent')
        if charge_id and charge_id != intent['latest_charge']:
            raise invalid(f'The charge {charge_id} does not belong to the PaymentIntent {intent_id}.', param='charge')
        if intent['status'] != 'succeeded' or not intent['latest_charge']:
            raise invalid(f'This PaymentIntent ({intent_id}) does not have a successful charge to refund.')
        charge = ctx.load('charge', intent['latest_charge'], param='payment_intent')
    elif charge_id:
        charge = ctx.load('charge', charge_id, param='charge')
    else:
        raise invalid('One of the following params should be provided for this request: payment_intent or charge.')
    if charge['status'] == 'pending':
        raise invalid(f'Charge {charge["id"]} is still pending; it can be refunded once it has succeeded.')
    if charge['status'] != 'succeeded':
        raise invalid(f'Charge {charge["id"]} has failed; there is nothing to refund.')
    if charge['disputed']:
        for dispute in ctx.store.find('dispute', {'charge': charge['id']}):
            if not dispute['is_charge_refundable']:
                raise invalid(
                    f'Charge {charge["id"]} has been charged back; cannot issue a refund.', code='charge_disputed'
                )
    return charge


retrieve = retriever('refund')
list_refunds = lister('refund', '/v1/refunds', 'charge', 'payment_intent')


ROUTES = [
    Route('POST', '/v1/refunds', create, 'RefundCreateParams'),
    Route('GET', '/v1/refunds', list_refunds, 'RefundListParams'),
    Route('GET', '/v1/refunds/{refund}', retrieve, 'RefundRetrieveParams'),
]

"""PaymentIntents and SetupIntents as the emulator makes them: confirmed once, when a card is charged or saved."""

from .context import Context
from .errors import StripeError
from .ids import new_id, random_token


def new_payment_intent(
    ctx: Context,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    payment_method: str | None,
    description: str | None,
    now: int,
    error: StripeError | None = None,
    metadata: dict | None = None,
) -> dict:
    """A PaymentIntent that was confirmed once: succeeded, or failed with `error` (saved, events emitted)."""
    intent_id = new_id('pi')
    intent = {
        'id': intent_id,
        'object': 'payment_intent',
        'amount': amount,
        'amount_capturable': 0,
        'amount_received': 0 if error else amount,
        'application': None,
        'application_fee_amount': None,
        'automatic_payment_methods': None,
        'canceled_at': None,
        'cancellation_reason': None,
        'capture_method': 'automatic_async',
        'client_secret': f'{intent_id}_secret_{random_token(25)}',
        'confirmation_method': 'automatic',
        'created': now,
        'currency': currency,
        'customer': customer,
        'customer_account': None,
        'description': description,
        'excluded_payment_method_types': None,
        'last_payment_error': _last_error(error, payment_method),
        'latest_charge': None,
        'livemode': False,
        'metadata': dict(metadata or {}),
        'next_action': None,
        'on_behalf_of': None,
        'payment_method': None if error else payment_method,
        'payment_method_configuration_details': None,
        'payment_method_options': {
            'card': {
                'installments': None,
                'mandate_options': None,
                'network': None,
                'request_three_d_secure': 'automatic',
            }
        },  # fmt: skip
        'payment_method_types': ['card'],
        'processing': None,
        'receipt_email': None,
        'review': None,
        'setup_future_usage': None,
        'shipping': None,
        'source': None,
        'statement_descriptor': None,
        'statement_descriptor_suffix': None,
        'status': 'requires_payment_method' if error else 'succeeded',
        'transfer_data': None,
        'transfer_group': None,
    }
    ctx.save(intent)
    ctx.emit('payment_intent.created', intent)
    ctx.emit('payment_intent.payment_failed' if error else 'payment_intent.succeeded', intent)
    return intent


def new_setup_intent(
    ctx: Context, *, customer: str, payment_method: str, now: int, metadata: dict | None = None
) -> dict:
    intent_id = new_id('seti')
    intent = {
        'id': intent_id,
        'object': 'setup_intent',
        'application': None,
        'attach_to_self': None,
        'automatic_payment_methods': None,
        'cancellation_reason': None,
        'client_secret': f'{intent_id}_secret_{random_token(25)}',
        'created': now,
        'customer': customer,
        'customer_account': None,
        'description': None,
        'excluded_payment_method_types': None,
        'flow_directions': None,
        'last_setup_error': None,
        'latest_attempt': None,
        'livemode': False,
        'mandate': None,
        'metadata': dict(metadata or {}),
        'next_action': None,
        'on_behalf_of': None,
        'payment_method': payment_method,
        'payment_method_configuration_details': None,
        'payment_method_options': {
            'card': {'mandate_options': None, 'network': None, 'request_three_d_secure': 'automatic'}
        },  # fmt: skip
        'payment_method_types': ['card'],
        'single_use_mandate': None,
        'status': 'succeeded',
        'usage': 'off_session',
    }
    ctx.save(intent)
    ctx.emit('setup_intent.created', intent)
    ctx.emit('setup_intent.succeeded', intent)
    return intent


def _last_error(error: StripeError | None, payment_method: str | None) -> dict | None:
    if error is None:
        return None
    return {
        'code': error.code,
        'decline_code': error.decline_code,
        'doc_url': f'https://stripe.com/docs/error-codes/{(error.code or "").replace("_", "-")}',
        'message': error.message,
        'payment_method': {'id': payment_method, 'object': 'payment_method'} if payment_method else None,
        'type': error.type,
    }

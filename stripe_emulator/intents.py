"""PaymentIntents and SetupIntents as the emulator makes them: confirmed once, when a payment method is charged or
saved."""

from . import charges, settlement
from .context import Context
from .errors import StripeError
from .ids import new_id, random_token
from .render import render, renderer


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
    payment_method_types: list[str] | None = None,
    invoice: str | None = None,
    checkout_session: str | None = None,
    requires_action: bool = False,
    allowed_payment_method_types: list[str] | None = None,
    automatic_payment_methods: dict | None = None,
) -> dict:
    """A PaymentIntent that was confirmed once (saved, events emitted), with the charge of its payment attempt.

    It succeeded, or failed with `error`; paid by SEPA Direct Debit it is `processing` and settles later (`invoice`
    and `checkout_session` are told then, see `settlement`). With `requires_action` (a card that asks for 3-D Secure)
    nothing is charged yet: it waits in `requires_action` for the cardholder on the hosted authentication page
    (`next_action.redirect_to_url.url`), which then calls `attempt`.
    """
    pm = ctx.store.get(payment_method, 'payment_method') if payment_method else None
    intent_id = new_id('pi')
    types = payment_method_types or (['card', 'sepa_debit'] if pm and pm['type'] == 'sepa_debit' else ['card'])
    options: dict = {
        'card': {'installments': None, 'mandate_options': None, 'network': None, 'request_three_d_secure': 'automatic'}
    }
    if 'sepa_debit' in types:
        options['sepa_debit'] = {}
    intent = {
        'id': intent_id,
        'object': 'payment_intent',
        'allowed_payment_method_types': allowed_payment_method_types,
        'managed_payments': None,
        'payment_record': None,
        'amount': amount,
        'amount_capturable': 0,
        'amount_received': 0,
        'application': None,
        'application_fee_amount': None,
        'automatic_payment_methods': automatic_payment_methods,
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
        'last_payment_error': None,
        'latest_charge': None,
        'livemode': False,
        'metadata': dict(metadata or {}),
        'next_action': None,
        'on_behalf_of': None,
        'payment_method': payment_method,
        'payment_method_configuration_details': None,
        'payment_method_options': options,
        'payment_method_types': types,
        'processing': None,
        'receipt_email': None,
        'review': None,
        'setup_future_usage': None,
        'shipping': None,
        'source': None,
        'statement_descriptor': None,
        'statement_descriptor_suffix': None,
        'status': 'succeeded',
        'transfer_data': None,
        'transfer_group': None,
        '_invoice': invoice,
        '_checkout_session': checkout_session,
    }
    if requires_action:
        token = ctx.hosted_token(intent_id)
        intent.update(status='requires_action', next_action={
            'type': 'redirect_to_url',
            'redirect_to_url': {'return_url': None, 'url': ctx.url(f'/authenticate/{intent_id}?token={token}')},
        })  # fmt: skip
        ctx.save_and_emit('payment_intent.created', intent)
        ctx.emit('payment_intent.requires_action', intent)
        return intent
    charge = _charge(ctx, intent, pm, now=now, error=error)
    ctx.save_and_emit('payment_intent.created', intent)
    _announce(ctx, intent, pm, charge, now=now)
    return intent


def attempt(ctx: Context, intent: dict, pm: dict | None, *, now: int, error: StripeError | None) -> None:
    """Charge a PaymentIntent that waited for authentication (saved, events emitted)."""
    charge = _charge(ctx, intent, pm, now=now, error=error)
    ctx.save(intent)
    _announce(ctx, intent, pm, charge, now=now)


def _charge(ctx: Context, intent: dict, pm: dict | None, *, now: int, error: StripeError | None) -> dict | None:
    """The payment attempt's charge (unsaved), and the intent's outcome: succeeded, failed with `error`, processing."""
    charge = charges.build(ctx, intent, pm, now=now, error=error) if pm is not None else None
    intent['next_action'] = None
    if error is not None:
        intent.update(status='requires_payment_method', payment_method=None)
        intent['last_payment_error'] = _last_error(error, pm['id'] if pm else None, charge)
    elif charge is not None and charge['status'] == 'pending':
        intent['status'] = 'processing'
        settlement.schedule(ctx, intent, pm, customer=intent['customer'])
    else:
        intent.update(status='succeeded', amount_received=intent['amount'])
    if charge is not None:
        intent['latest_charge'] = charge['id']
    return charge


def _announce(ctx: Context, intent: dict, pm: dict | None, charge: dict | None, *, now: int) -> None:
    if charge is not None:
        charges.record(ctx, charge)
    event = {'succeeded': 'succeeded', 'processing': 'processing'}.get(intent['status'], 'payment_failed')
    ctx.emit(f'payment_intent.{event}', intent)
    dispute = (pm or {}).get('_dispute')
    if charge is not None and charge['status'] == 'succeeded' and dispute:
        charges.open_dispute(ctx, charge, reason=dispute[0], status=dispute[1], now=now)


def new_setup_intent(
    ctx: Context,
    *,
    customer: str,
    payment_method: str,
    now: int,
    metadata: dict | None = None,
    payment_method_types: list[str] | None = None,
    mandate: str | None = None,
) -> dict:
    intent_id = new_id('seti')
    intent = {
        'id': intent_id,
        'object': 'setup_intent',
        'allowed_payment_method_types': None,
        'application': None,
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
        'mandate': mandate,
        'metadata': dict(metadata or {}),
        'next_action': None,
        'on_behalf_of': None,
        'payment_method': payment_method,
        'payment_method_configuration_details': None,
        'payment_method_options': {
            'card': {'mandate_options': None, 'network': None, 'request_three_d_secure': 'automatic'},
            **({'sepa_debit': {}} if 'sepa_debit' in (payment_method_types or []) else {}),
        },  # fmt: skip
        'payment_method_types': payment_method_types or ['card'],
        'single_use_mandate': None,
        'status': 'succeeded',
        'usage': 'off_session',
    }
    ctx.save_and_emit('setup_intent.created', intent)
    ctx.emit('setup_intent.succeeded', intent)
    return intent


def _last_error(error: StripeError, payment_method: str | None, charge: dict | None) -> dict:
    return {
        'charge': charge['id'] if charge else None,
        'code': error.code,
        **({'decline_code': error.decline_code} if error.decline_code else {}),
        'doc_url': f'https://stripe.com/docs/error-codes/{(error.code or "").replace("_", "-")}',
        'message': error.message,
        'payment_method': {'id': payment_method, 'object': 'payment_method'} if payment_method else None,
        'type': error.type,
    }


@renderer('payment_intent')
def _render(ctx: Context, intent: dict) -> dict:
    """`last_payment_error.payment_method` is the whole payment method, as on Stripe (it is stored as a reference)."""
    error = intent.get('last_payment_error') or {}
    reference = error.get('payment_method')
    if isinstance(reference, dict) and 'card' not in reference and 'sepa_debit' not in reference:
        if (found := ctx.store.get(reference['id'], 'payment_method')) is not None:
            return {**intent, 'last_payment_error': {**error, 'payment_method': render(ctx, found)}}
    return intent

"""PaymentIntents and SetupIntents over the API. A PaymentIntent is created and confirmed in one request (a saved
card charged off session, say); Checkout and invoice payments make the others, and SetupIntents are read-only."""

from ..cards import charge_outcome, needs_authentication
from ..context import Context
from ..errors import card_error, invalid, parameter_missing
from ..handlers import lister, retriever
from ..intents import new_payment_intent
from ..params import get_bool, get_dict, get_int, get_str, get_strings, merge_metadata
from ..render import render
from ..router import Route

AUTHENTICATION_REQUIRED = 'Your card was declined. This transaction requires authentication.'
NEEDS_RETURN_URL = (
    'This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these '
    "payment methods might redirect your customer off of your page, you must provide a `return_url`. If you don't "
    'want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and '
    '`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.'
)


def create_payment_intent(ctx: Context, params: dict) -> dict:
    """Charge a payment method now (`confirm=true`; the emulator has no separate confirm step).

    A declined card answers 402 `card_error` and the failed PaymentIntent stays (`requires_payment_method`, with its
    failed charge), so an idempotent retry replays the same error. Off session, a card that asks for 3-D Secure fails
    the same way with `authentication_required`; on session it waits in `requires_action` for the hosted page.
    """
    amount = get_int(params, 'amount', required=True, minimum=1)
    currency = get_str(params, 'currency', required=True).lower()
    if len(currency) != 3 or not currency.isalpha():
        raise invalid(f'Invalid currency: {currency}.', param='currency')
    customer_id = get_str(params, 'customer')
    customer = ctx.load('customer', customer_id, param='customer') if customer_id else None
    allowed = get_strings(params, 'allowed_payment_method_types')
    off_session = _off_session(params)
    if not get_bool(params, 'confirm', default=False):
        raise invalid('The emulator creates PaymentIntents with `confirm=true` only: pass a payment_method and '
                      'confirm=true to charge it at once.', param='confirm')  # fmt: skip
    if off_session and customer is None:
        raise invalid('A PaymentIntent with `off_session=true` needs a `customer` whose payment method it charges.',
                      param='customer')  # fmt: skip
    pm = _payment_method(ctx, get_str(params, 'payment_method'), customer_id, allowed, off_session=off_session)
    automatic = None if allowed is not None else _automatic(params)
    error = charge_outcome(pm)
    asks = error is None and pm['id'] not in ctx.authenticated and needs_authentication(pm, off_session=off_session)
    if asks and off_session:  # the cardholder is not there to authenticate: Stripe declines at once
        error = card_error(AUTHENTICATION_REQUIRED, code='authentication_required',
                           decline_code='authentication_required')  # fmt: skip
    intent = new_payment_intent(
        ctx, amount=amount, currency=currency, customer=customer_id, payment_method=pm['id'],
        description=get_str(params, 'description'), now=ctx.now(customer), error=error,
        metadata=merge_metadata({}, params.get('metadata')), payment_method_types=allowed,
        allowed_payment_method_types=allowed, automatic_payment_methods=automatic,
        requires_action=asks and not off_session,
    )  # fmt: skip
    if error is not None:
        error.commit = True  # the failed attempt stays, as on Stripe
        error.payment_intent = render(ctx, intent)
        raise error
    return intent


def _off_session(params: dict) -> bool:
    """`off_session` is a boolean, or `one_off` / `recurring` (both off session)."""
    if params.get('off_session') in ('one_off', 'recurring'):
        return True
    return bool(get_bool(params, 'off_session', default=False))


def _payment_method(
    ctx: Context, pm_id: str | None, customer_id: str | None, allowed: list[str] | None, *, off_session: bool
) -> dict:
    if pm_id is None:
        raise parameter_missing('payment_method')
    pm = ctx.load('payment_method', pm_id, param='payment_method')
    owner = pm.get('customer')
    if (owner and owner != customer_id) or (off_session and owner is None):
        raise invalid(f'The PaymentMethod {pm_id} is not attached to the customer {customer_id}: attach it first to '
                      'charge it for that customer.', param='payment_method')  # fmt: skip
    if allowed is not None and pm['type'] not in allowed:
        raise invalid(
            f'The PaymentMethod provided ({pm["type"]}) is not allowed for this PaymentIntent. Please attach a '
            f'PaymentMethod of one of the following types: {", ".join(allowed)}.', param='payment_method',
            code='payment_intent_incompatible_payment_method',
        )  # fmt: skip
    return pm


def _automatic(params: dict) -> dict:
    """Without `allowed_payment_method_types`, the account's payment methods (Stripe's default since 2023): a
    confirmation then needs a `return_url`, unless redirects are ruled out."""
    given = get_dict(params, 'automatic_payment_methods') or {}
    redirects = get_str(given, 'allow_redirects', choices=('always', 'never')) or 'always'
    if redirects == 'always' and not get_str(params, 'return_url'):
        raise invalid(NEEDS_RETURN_URL, param='return_url')
    return {'allow_redirects': redirects, 'enabled': True}


retrieve_payment_intent = retriever('payment_intent')
list_payment_intents = lister('payment_intent', '/v1/payment_intents', 'customer')
retrieve_setup_intent = retriever('setup_intent')
list_setup_intents = lister('setup_intent', '/v1/setup_intents', 'customer', 'payment_method')


ROUTES = [
    Route('POST', '/v1/payment_intents', create_payment_intent, 'PaymentIntentCreateParams'),
    Route('GET', '/v1/payment_intents', list_payment_intents, 'PaymentIntentListParams'),
    Route('GET', '/v1/payment_intents/{intent}', retrieve_payment_intent, 'PaymentIntentRetrieveParams'),
    Route('GET', '/v1/setup_intents', list_setup_intents, 'SetupIntentListParams'),
    Route('GET', '/v1/setup_intents/{intent}', retrieve_setup_intent, 'SetupIntentRetrieveParams'),
]

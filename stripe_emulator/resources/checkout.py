"""Checkout Sessions: create, retrieve, list, expire, line items. Paying happens on the hosted page."""

from ..context import Context
from ..errors import invalid
from ..expand import includable
from ..handlers import string_filters
from ..ids import new_id
from ..listing import paged, paged_in_memory
from ..params import get_bool, get_dict, get_dicts, get_int, get_str, get_timestamp, merge_metadata
from ..render import render
from ..router import Route
from . import prices
from .subscriptions import trial_end_from

MODES = ('payment', 'setup', 'subscription')
DAY = 86400
CUSTOM_TEXTS = ('after_submit', 'shipping_address', 'submit', 'terms_of_service_acceptance')


def create(ctx: Context, params: dict) -> dict:
    mode = get_str(params, 'mode', required=True, choices=MODES)
    customer = None
    if customer_id := get_str(params, 'customer'):
        customer = ctx.load('customer', customer_id, param='customer')
    now = ctx.now(customer)
    line_items = _line_items(ctx, mode, get_dicts(params, 'line_items') or [])
    currency = line_items[0]['_currency'] if line_items else (get_str(params, 'currency') or 'usd').lower()
    invoice_creation = get_dict(params, 'invoice_creation')
    if invoice_creation and mode != 'payment':
        raise invalid('`invoice_creation` can only be used in `payment` mode.', param='invoice_creation')
    expires_at = get_timestamp(params, 'expires_at') or now + DAY
    if not now + 1800 <= expires_at <= now + DAY:
        raise invalid(
            'The `expires_at` timestamp must be between 30 minutes and 24 hours from now.', param='expires_at'
        )
    session_id = new_id('cs_test')
    session = {
        'id': session_id,
        'object': 'checkout.session',
        'allowed_payment_method_types': None,
        'managed_payments': None,
        'adaptive_pricing': {'enabled': False},
        'after_expiration': None,
        'allow_promotion_codes': get_bool(params, 'allow_promotion_codes'),
        'amount_subtotal': None,
        'amount_total': None,
        'automatic_tax': {'enabled': False, 'liability': None, 'provider': None, 'status': None},
        'billing_address_collection': get_str(params, 'billing_address_collection'),
        'cancel_url': get_str(params, 'cancel_url'),
        'client_reference_id': get_str(params, 'client_reference_id'),
        'client_secret': None,
        'collected_information': None,
        'consent': None,
        'consent_collection': None,
        'created': now,
        'currency': currency,
        'currency_conversion': None,
        'custom_fields': [],
        'custom_text': _custom_text(get_dict(params, 'custom_text') or {}),
        'customer': customer['id'] if customer else None,
        'customer_account': None,
        'customer_creation': None
        if customer or mode != 'payment'
        else get_str(params, 'customer_creation') or 'if_required',
        'customer_details': customer_details(customer, get_str(params, 'customer_email')) if customer else None,
        'customer_email': get_str(params, 'customer_email'),
        'discounts': [],
        'expires_at': expires_at,
        'integration_identifier': None,
        'invoice': None,
        'invoice_creation': _invoice_creation(invoice_creation) if mode == 'payment' else None,
        'livemode': False,
        'locale': get_str(params, 'locale'),
        'metadata': merge_metadata({}, params.get('metadata')),
        'mode': mode,
        'origin_context': None,
        'payment_intent': None,
        'payment_link': None,
        'payment_method_collection': 'always' if mode != 'setup' else None,
        'payment_method_configuration_details': None,
        'payment_method_options': {'card': {'request_three_d_secure': 'automatic'}},
        # SEPA Direct Debit is offered besides cards in payment and setup mode (for any currency, unlike Stripe).
        'payment_method_types': ['card'] if mode == 'subscription' else ['card', 'sepa_debit'],
        'payment_status': 'no_payment_required' if mode == 'setup' else 'unpaid',
        'permissions': None,
        'phone_number_collection': {'enabled': False},
        'recovered_from': None,
        'saved_payment_method_options': None,
        'setup_intent': None,
        'shipping_address_collection': None,
        'shipping_cost': None,
        'shipping_options': [],
        'status': 'open',
        'submit_type': get_str(params, 'submit_type'),
        'subscription': None,
        'success_url': get_str(params, 'success_url'),
        'tax_id_collection': {'enabled': False, 'required': 'never'},
        'total_details': {'amount_discount': 0, 'amount_shipping': 0, 'amount_tax': 0},
        'ui_mode': 'hosted_page',
        'url': ctx.url(f'/pay/{session_id}'),
        'wallet_options': None,
        '_line_items': line_items,
        '_subscription_data': get_dict(params, 'subscription_data') or {},
        '_intent_data': get_dict(params, 'payment_intent_data') or get_dict(params, 'setup_intent_data') or {},
    }
    set_amounts(session)
    if mode == 'subscription':
        session['_trial_end'] = trial_end_from(session['_subscription_data'], now)
    ctx.save(session)
    return session


def retrieve(ctx: Context, params: dict, session: str) -> dict:
    return expire_if_due(ctx, ctx.load('checkout.session', session))


def expire_if_due(ctx: Context, session: dict) -> dict:
    """Sessions expire at `expires_at`; we notice when someone looks at them."""
    if session['status'] == 'open' and ctx.now(session['customer']) > session['expires_at']:
        session.update(status='expired', url=None)
        ctx.save_and_emit('checkout.session.expired', session)
    return session


def list_sessions(ctx: Context, params: dict) -> dict:
    filters = string_filters(params, 'customer', 'status', 'subscription', 'payment_intent')
    if details := get_dict(params, 'customer_details'):
        filters['customer_details.email'] = get_str(details, 'email', required=True)
    return paged(ctx, params, 'checkout.session', '/v1/checkout/sessions', filters)


def expire(ctx: Context, params: dict, session: str) -> dict:
    doc = ctx.load('checkout.session', session)
    if doc['status'] != 'open':
        raise invalid(f'Only Checkout Sessions with a status in ["open"] can be expired; this one is {doc["status"]}.')
    doc.update(status='expired', url=None)
    return ctx.save_and_emit('checkout.session.expired', doc)


def list_line_items(ctx: Context, params: dict, session: str) -> dict:
    doc = ctx.load('checkout.session', session)
    return paged_in_memory(params, line_items(ctx, doc)['data'], f'/v1/checkout/sessions/{session}/line_items')


@includable('checkout.session', 'line_items')
def line_items(ctx: Context, session: dict) -> dict:
    stored = ctx.store.get(session['id'], 'checkout.session') or session
    items = []
    for item in stored.get('_line_items', []):
        price = render(ctx, ctx.load('price', item['price']))
        product = ctx.store.get(price['product'], 'product') or {}
        amount = price['unit_amount'] * item['quantity']
        items.append({
            'id': item['id'],
            'object': 'item',
            'adjustable_quantity': item['adjustable_quantity'],
            'amount_discount': 0,
            'amount_subtotal': amount,
            'amount_tax': 0,
            'amount_total': amount,
            'currency': price['currency'],
            'description': product.get('name'),
            'discounts': [],
            'metadata': {},
            'price': price,
            'quantity': item['quantity'],
            'taxes': [],
        })  # fmt: skip
    return {
        'object': 'list',
        'data': items,
        'has_more': False,
        'url': f'/v1/checkout/sessions/{session["id"]}/line_items',
    }


def set_amounts(session: dict) -> None:
    if session['mode'] == 'setup':
        return
    total = sum(item['_unit_amount'] * item['quantity'] for item in session['_line_items'])
    session['amount_subtotal'] = session['amount_total'] = total


def _line_items(ctx: Context, mode: str, params: list) -> list[dict]:
    if mode == 'setup':
        if params:
            raise invalid('You cannot pass `line_items` in `setup` mode.', param='line_items')
        return []
    if not params:
        raise invalid(f'`line_items` is required in `{mode}` mode.', param='line_items', code='parameter_missing')
    items = []
    for index, item in enumerate(params):
        param = f'line_items[{index}]'
        if price_data := get_dict(item, 'price_data'):
            price = _inline_price(ctx, price_data, param=f'{param}[price_data]')
        else:
            price = ctx.load('price', get_str(item, 'price', required=True), param=f'{param}[price]')
            if not price['active']:
                raise invalid(f'The price `{price["id"]}` is not active.', param=f'{param}[price]')
        if mode == 'payment' and price['type'] == 'recurring':
            raise invalid(
                'You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or '
                'use only one-time prices.',
                param=f'{param}[price]',
            )
        adjustable = get_dict(item, 'adjustable_quantity')
        items.append({
            'id': new_id('li'),
            'price': price['id'],
            'quantity': get_int(item, 'quantity', minimum=0) or 1,
            'adjustable_quantity': {
                'enabled': bool(get_bool(adjustable, 'enabled')),
                'maximum': get_int(adjustable, 'maximum') or 99,
                'minimum': get_int(adjustable, 'minimum') if get_int(adjustable, 'minimum') is not None else 0,
            } if adjustable else None,
            '_unit_amount': price['unit_amount'],
            '_currency': price['currency'],
            '_recurring': price['recurring'],
        })  # fmt: skip
    if mode == 'subscription' and not any(item['_recurring'] for item in items):
        raise invalid('You must provide at least one recurring price in `subscription` mode.', param='line_items')
    if len({item['_currency'] for item in items}) > 1:
        raise invalid('All prices must use the same currency.', param='line_items')
    return items


def _inline_price(ctx: Context, data: dict, *, param: str) -> dict:
    """A line item's `price_data`: as on Stripe, a price of its own (inactive, for this session only), and a new
    product from `product_data` unless it names an existing `product`."""
    if get_str(data, 'product') is None and not get_dict(data, 'product_data'):
        raise invalid('You must specify either `product` or `product_data` in `price_data`.', param=f'{param}[product]')
    if get_int(data, 'unit_amount', minimum=0) is None:
        raise invalid('You must specify `unit_amount` in `price_data` (the emulator only supports per-unit prices).',
                      param=f'{param}[unit_amount]')  # fmt: skip
    return prices.create(ctx, {**data, 'active': False})


def _custom_text(params: dict) -> dict:
    """Each of Checkout's custom texts, `{'message': …}` or None; Stripe allows 1,200 characters each."""
    texts = {}
    for position in CUSTOM_TEXTS:
        given = get_dict(params, position) or {}
        message = get_str(given, 'message')
        if message is not None and len(message) > 1200:
            raise invalid('Text can be up to 1200 characters in length.', param=f'custom_text[{position}][message]')
        texts[position] = {'message': message} if message else None
    return texts


def _invoice_creation(params: dict | None) -> dict:
    data = get_dict(params or {}, 'invoice_data') or {}
    return {
        'enabled': bool(get_bool(params or {}, 'enabled')),
        'invoice_data': {
            'account_tax_ids': None,
            'custom_fields': None,
            'description': get_str(data, 'description'),
            'footer': get_str(data, 'footer'),
            'issuer': None,
            'metadata': merge_metadata({}, data.get('metadata')),
            'rendering_options': None,
        },
    }


def customer_details(customer: dict | None, email: str | None, name: str | None = None) -> dict:
    return {
        'address': (customer or {}).get('address'),
        'business_name': None,
        'email': (customer or {}).get('email') or email,
        'individual_name': None,
        'name': name or (customer or {}).get('name'),
        'phone': None,
        'tax_exempt': 'none',
        'tax_ids': [],
    }


ROUTES = [
    Route('POST', '/v1/checkout/sessions', create, 'checkout.SessionCreateParams'),
    Route('GET', '/v1/checkout/sessions', list_sessions, 'checkout.SessionListParams'),
    Route('GET', '/v1/checkout/sessions/{session}', retrieve, 'checkout.SessionRetrieveParams'),
    Route('POST', '/v1/checkout/sessions/{session}/expire', expire, 'checkout.SessionExpireParams'),
    Route('GET', '/v1/checkout/sessions/{session}/line_items', list_line_items, 'checkout.SessionLineItemListParams'),
]

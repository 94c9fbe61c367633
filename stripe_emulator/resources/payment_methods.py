"""Payment methods (cards, SEPA Direct Debit): made from test tokens, test IBANs or by the hosted pages; attach,
detach, update, list."""

import datetime

from .. import sepa
from ..cards import TOKENS, Card, attach_outcome, test_card
from ..context import Context
from ..errors import invalid
from ..handlers import retriever, string_filters
from ..ids import new_id
from ..listing import paged
from ..params import address, get_dict, get_int, get_str, merge_metadata
from ..router import Route


def create(ctx: Context, params: dict) -> dict:
    pm_type = get_str(params, 'type', required=True)
    if pm_type == 'sepa_debit':
        return _create_sepa(ctx, params)
    if pm_type != 'card':
        raise invalid('The emulator only supports payment methods of type `card` and `sepa_debit`.', param='type')
    card_params = get_dict(params, 'card') or {}
    token = get_str(card_params, 'token')
    if token is None:
        raise invalid(
            'Sending credit card numbers directly to the Stripe API is generally unsafe. Use a test token such as '
            '`card[token]=tok_visa`.',
            param='card[number]' if 'number' in card_params else 'card[token]',
        )
    card = test_card(TOKENS.get(token, ''))
    if card is None:
        raise invalid(f"No such token: '{token}'", param='card[token]', code='resource_missing')
    pm = build(ctx, card, exp_month=12, exp_year=_current_year(ctx) + 3)
    _apply_billing_details(pm, get_dict(params, 'billing_details'))
    pm['metadata'] = merge_metadata({}, params.get('metadata'))
    ctx.save(pm)
    return pm


def _create_sepa(ctx: Context, params: dict) -> dict:
    """Unlike card numbers, Stripe takes IBANs over the API; the account holder's name and email are required."""
    iban = get_str(get_dict(params, 'sepa_debit') or {}, 'iban')
    if not iban:
        raise invalid('Missing required param: sepa_debit[iban].', param='sepa_debit[iban]', code='parameter_missing')
    account, error = sepa.read_iban(iban)
    if account is None:
        raise invalid(error or sepa.INVALID, param='sepa_debit[iban]', code='invalid_bank_account_iban')
    details = get_dict(params, 'billing_details') or {}
    for key in ('name', 'email'):
        if not get_str(details, key):
            raise invalid(
                f'Missing required param: billing_details[{key}].', param=f'billing_details[{key}]',
                code='parameter_missing',
            )  # fmt: skip
    pm = build_sepa(ctx, account, name=None, email=None)
    _apply_billing_details(pm, details)
    pm['metadata'] = merge_metadata({}, params.get('metadata'))
    ctx.save(pm)
    return pm


def build(ctx: Context, card: Card, *, exp_month: int, exp_year: int, name: str | None = None) -> dict:
    """A new, unattached card payment method; the caller saves it."""
    pm = _base(ctx, 'card', name=name, email=None)
    pm['card'] = {
        'brand': card.brand,
        'checks': {'address_line1_check': None, 'address_postal_code_check': None, 'cvc_check': 'pass'},
        'country': card.country,
        'display_brand': card.display_brand,
        'exp_month': exp_month,
        'exp_year': exp_year,
        'fingerprint': ctx.fingerprint('card', card.number),
        'funding': card.funding,
        'generated_from': None,
        'last4': card.last4,
        'networks': {'available': [card.brand], 'preferred': None},
        'regulated_status': 'unregulated',
        'three_d_secure_usage': {'supported': True},
        'wallet': None,
    }
    # How the test card behaves later, when it is attached or charged.
    pm.update(
        _decline=card.decline,
        _charge_decline=card.charge_decline,
        _dispute=card.dispute,
        _three_d_secure=card.three_d_secure,
    )
    return pm


def build_sepa(ctx: Context, account: sepa.BankAccount, *, name: str | None, email: str | None) -> dict:
    """A new, unattached SEPA Direct Debit payment method for a test IBAN; the caller saves it."""
    pm = _base(ctx, 'sepa_debit', name=name, email=email)
    pm['sepa_debit'] = {
        'bank_code': account.bank_code,
        'branch_code': account.branch_code,
        'country': account.country,
        'fingerprint': ctx.fingerprint('iban', account.iban),
        'generated_from': {'charge': None, 'setup_attempt': None},
        'last4': account.last4,
    }
    # What the bank will answer when this account is debited (see `settlement`).
    test = account.test
    pm['_settles'] = {'outcome': test.outcome, 'failure_code': test.failure_code,
                      'failure_message': test.failure_message}  # fmt: skip
    return pm


def _base(ctx: Context, pm_type: str, *, name: str | None, email: str | None) -> dict:
    return {
        'id': new_id('pm'),
        'object': 'payment_method',
        'allow_redisplay': 'unspecified',
        'billing_details': {
            'address': address({}, param='billing_details[address]'),
            'email': email,
            'name': name,
            'phone': None,
            'tax_id': None,
        },
        'created': ctx.now(),
        'customer': None,
        'customer_account': None,
        'livemode': False,
        'metadata': {},
        'radar_options': {},
        'type': pm_type,
    }


retrieve = retriever('payment_method')


def update(ctx: Context, params: dict, payment_method: str) -> dict:
    pm = ctx.load('payment_method', payment_method)
    if not pm['customer']:
        raise invalid('You must save this PaymentMethod to a customer before you can update it.')
    before = ctx.snapshot(pm)
    if (card := get_dict(params, 'card')) and pm['type'] != 'card':
        raise invalid('You cannot update the card details of a payment method that is not a card.', param='card')
    if card:
        month = get_int(card, 'exp_month')
        year = get_int(card, 'exp_year')
        if month is not None:
            if not 1 <= month <= 12:
                raise invalid(
                    "Your card's expiration month is invalid.", param='card[exp_month]', code='invalid_expiry_month'
                )
            pm['card']['exp_month'] = month
        if year is not None:
            year = year + 2000 if year < 100 else year
            if year < _current_year(ctx):
                raise invalid(
                    "Your card's expiration year is invalid.", param='card[exp_year]', code='invalid_expiry_year'
                )
            pm['card']['exp_year'] = year
    _apply_billing_details(pm, get_dict(params, 'billing_details'))
    pm['metadata'] = merge_metadata(pm['metadata'], params.get('metadata'))
    return ctx.save_and_emit('payment_method.updated', pm, before)


def attach(ctx: Context, params: dict, payment_method: str) -> dict:
    pm = ctx.load('payment_method', payment_method)
    customer = ctx.load('customer', get_str(params, 'customer', required=True), param='customer')
    return attach_to(ctx, pm, customer)


def attach_to(ctx: Context, pm: dict, customer: dict) -> dict:
    if pm['customer'] == customer['id']:
        return pm
    if pm['customer']:
        raise invalid(
            'The payment method you provided has already been attached to a customer.',
            code='payment_method_unexpected_state',
        )
    if error := attach_outcome(pm):
        raise error
    pm['customer'] = customer['id']
    return ctx.save_and_emit('payment_method.attached', pm)


def detach(ctx: Context, params: dict, payment_method: str) -> dict:
    pm = ctx.load('payment_method', payment_method)
    if not pm['customer']:
        raise invalid(
            'The payment method you provided is not attached to a customer so detachment is impossible.',
            code='payment_method_unexpected_state',
        )
    customer = ctx.store.get(pm['customer'], 'customer')
    previous = ctx.snapshot(pm)
    pm['customer'] = None
    ctx.save(pm)
    # Stripe forgets a detached card wherever it was the default.
    if customer and customer['invoice_settings']['default_payment_method'] == pm['id']:
        before = ctx.snapshot(customer)
        customer['invoice_settings']['default_payment_method'] = None
        ctx.save_and_emit('customer.updated', customer, before)
    for subscription in ctx.store.find('subscription', {'default_payment_method': pm['id']}):
        before = ctx.snapshot(subscription)
        subscription['default_payment_method'] = None
        ctx.save_and_emit('customer.subscription.updated', subscription, before)
    ctx.emit('payment_method.detached', pm, previous)
    return pm


def list_payment_methods(ctx: Context, params: dict) -> dict:
    # Without `type`, Stripe lists every type.
    filters = string_filters(params, 'type')
    if customer := get_str(params, 'customer'):
        ctx.load('customer', customer, param='customer')
        filters['customer'] = customer
    return paged(ctx, params, 'payment_method', '/v1/payment_methods', filters)


def list_for_customer(ctx: Context, params: dict, customer: str) -> dict:
    ctx.load('customer', customer, param='customer')
    filters = {'customer': customer, **string_filters(params, 'type')}
    return paged(ctx, params, 'payment_method', f'/v1/customers/{customer}/payment_methods', filters)


def retrieve_for_customer(ctx: Context, params: dict, customer: str, payment_method: str) -> dict:
    pm = ctx.load('payment_method', payment_method)
    if pm['customer'] != customer:
        raise invalid(
            f'Customer {customer} does not have a payment method with ID {payment_method}',
            param='payment_method',
            code='resource_missing',
        )
    return pm


def _current_year(ctx: Context) -> int:
    return datetime.datetime.fromtimestamp(ctx.now(), datetime.UTC).year


def _apply_billing_details(pm: dict, details: dict | None) -> None:
    if not details:
        return
    target = pm['billing_details']
    for key in ('name', 'email', 'phone'):
        if key in details:
            target[key] = get_str(details, key)
    if 'address' in details:
        target['address'] = address(details['address'], param='billing_details[address]') or address(
            {}, param='billing_details[address]'
        )


ROUTES = [
    Route('POST', '/v1/payment_methods', create, 'PaymentMethodCreateParams'),
    Route('GET', '/v1/payment_methods', list_payment_methods, 'PaymentMethodListParams'),
    Route('GET', '/v1/payment_methods/{payment_method}', retrieve, 'PaymentMethodRetrieveParams'),
    Route('POST', '/v1/payment_methods/{payment_method}', update, 'PaymentMethodUpdateParams'),
    Route('POST', '/v1/payment_methods/{payment_method}/attach', attach, 'PaymentMethodAttachParams'),
    Route('POST', '/v1/payment_methods/{payment_method}/detach', detach, 'PaymentMethodDetachParams'),
    Route('GET', '/v1/customers/{customer}/payment_methods', list_for_customer, 'CustomerPaymentMethodListParams'),
    Route(
        'GET',
        '/v1/customers/{customer}/payment_methods/{payment_method}',
        retrieve_for_customer,
        'CustomerPaymentMethodRetrieveParams',
    ),
]

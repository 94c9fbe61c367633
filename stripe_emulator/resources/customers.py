"""Customers and their tax ids."""

from .. import tax_ids
from ..context import Context
from ..errors import invalid
from ..expand import includable
from ..handlers import string_filters
from ..ids import new_id, random_token
from ..lifecycle import cancel_now
from ..listing import list_object, paged
from ..params import address, get_dict, get_dicts, get_str, get_strings, merge_metadata
from ..render import render
from ..router import Route
from ..store import Not
from .payment_methods import attach_to


def create(ctx: Context, params: dict) -> dict:
    clock_id = get_str(params, 'test_clock')
    if clock_id:
        ctx.load('test_helpers.test_clock', clock_id, param='test_clock')
    customer = {
        'id': new_id('cus'),
        'object': 'customer',
        'address': address(params.get('address'), param='address'),
        'balance': 0,
        'business_name': get_str(params, 'business_name'),
        'created': ctx.clock_now(clock_id) if clock_id else ctx.now(),
        'currency': None,
        'customer_account': None,
        'default_source': None,
        'delinquent': False,
        'description': get_str(params, 'description'),
        'discount': None,
        'email': get_str(params, 'email'),
        'individual_name': get_str(params, 'individual_name'),
        'invoice_prefix': get_str(params, 'invoice_prefix') or random_token(8).upper(),
        'invoice_settings': {
            'custom_fields': None,
            'default_payment_method': None,
            'footer': None,
            'rendering_options': None,
        },
        'livemode': False,
        'metadata': merge_metadata({}, params.get('metadata')),
        'name': get_str(params, 'name'),
        'next_invoice_sequence': 1,
        'phone': get_str(params, 'phone'),
        'preferred_locales': get_strings(params, 'preferred_locales') or [],
        'shipping': None,
        'tax_exempt': get_str(params, 'tax_exempt') or 'none',
        'test_clock': clock_id,
    }
    for optional in ('business_name', 'individual_name'):  # optional and not nullable: absent unless given
        if customer[optional] is None:
            del customer[optional]
    ctx.save_and_emit('customer.created', customer)
    for index, tax_id in enumerate(get_dicts(params, 'tax_id_data') or []):
        _create_tax_id(ctx, customer, tax_id, param=f'tax_id_data[{index}]')
    if pm_id := get_str(params, 'payment_method'):
        attach_to(ctx, ctx.load('payment_method', pm_id, param='payment_method'), customer)
    if settings := get_dict(params, 'invoice_settings'):
        _apply_invoice_settings(ctx, customer, settings)
        ctx.save(customer)
    return customer


def retrieve(ctx: Context, params: dict, customer: str) -> dict:
    doc = ctx.store.get(customer, 'customer')
    if doc is not None and doc.get('deleted'):
        return {'id': doc['id'], 'object': 'customer', 'deleted': True}
    return ctx.load('customer', customer)


def update(ctx: Context, params: dict, customer: str) -> dict:
    doc = ctx.load('customer', customer)
    before = ctx.snapshot(doc)
    for key in ('name', 'email', 'phone', 'description', 'business_name', 'individual_name', 'tax_exempt'):
        if key in params:
            doc[key] = get_str(params, key)
    for optional in ('business_name', 'individual_name'):  # emptied: absent again, as on Stripe
        if optional in doc and doc[optional] is None:
            del doc[optional]
    if 'address' in params:
        doc['address'] = address(params['address'], param='address')
    if 'preferred_locales' in params:
        doc['preferred_locales'] = get_strings(params, 'preferred_locales') or []
    if settings := get_dict(params, 'invoice_settings'):
        _apply_invoice_settings(ctx, doc, settings)
    doc['metadata'] = merge_metadata(doc['metadata'], params.get('metadata'))
    return ctx.save_and_emit_change('customer.updated', doc, before)


def delete(ctx: Context, params: dict, customer: str) -> dict:
    doc = ctx.load('customer', customer)
    for subscription in ctx.store.find('subscription', {'customer': doc['id'], 'status': Not('canceled')}):
        cancel_now(ctx, subscription, at=ctx.now(doc))
    doc['deleted'] = True
    ctx.save(doc)
    # The event carries the customer as it was: only the DELETE answer (a DeletedCustomer) says `deleted`.
    ctx.emit('customer.deleted', {key: value for key, value in doc.items() if key != 'deleted'})
    return {'id': doc['id'], 'object': 'customer', 'deleted': True}


def list_customers(ctx: Context, params: dict) -> dict:
    filters = {'deleted': None, **string_filters(params, 'email', 'test_clock')}
    return paged(ctx, params, 'customer', '/v1/customers', filters)


def _apply_invoice_settings(ctx: Context, customer: dict, settings: dict) -> None:
    if 'default_payment_method' in settings:
        pm_id = get_str(settings, 'default_payment_method')
        param = 'invoice_settings[default_payment_method]'
        if pm_id:
            pm = ctx.load('payment_method', pm_id, param=param)
            if pm['customer'] != customer['id']:
                raise invalid(
                    f'The customer does not have a payment method with the ID {pm_id}. The payment method must be '
                    'attached to the customer.',
                    param=param,
                )
        customer['invoice_settings']['default_payment_method'] = pm_id
    if 'footer' in settings:
        customer['invoice_settings']['footer'] = get_str(settings, 'footer')


# --- tax ids -------------------------------------------------------------------------------------------------


def create_tax_id(ctx: Context, params: dict, customer: str) -> dict:
    return _create_tax_id(ctx, ctx.load('customer', customer), params, param=None)


def retrieve_tax_id(ctx: Context, params: dict, customer: str, id: str) -> dict:
    tax_id = ctx.load('tax_id', id)
    if tax_id['customer'] != customer:
        ctx.load('tax_id', '', param='id')
    return tax_id


def delete_tax_id(ctx: Context, params: dict, customer: str, id: str) -> dict:
    tax_id = retrieve_tax_id(ctx, params, customer, id)
    ctx.store.delete(id)
    ctx.emit('customer.tax_id.deleted', tax_id)
    return {'id': id, 'object': 'tax_id', 'deleted': True}


def list_tax_ids(ctx: Context, params: dict, customer: str) -> dict:
    ctx.load('customer', customer)
    return paged(ctx, params, 'tax_id', f'/v1/customers/{customer}/tax_ids', {'customer': customer})


@includable('customer', 'tax_ids')
def _tax_ids(ctx: Context, customer: dict) -> dict:
    docs = ctx.store.find('tax_id', {'customer': customer['id']})
    return list_object(docs, f'/v1/customers/{customer["id"]}/tax_ids')


@includable('customer', 'subscriptions')
def _subscriptions(ctx: Context, customer: dict) -> dict:
    docs = ctx.store.find('subscription', {'customer': customer['id'], 'status': Not('canceled')})
    return list_object([render(ctx, doc) for doc in docs], f'/v1/customers/{customer["id"]}/subscriptions')


def _create_tax_id(ctx: Context, customer: dict, data: dict, *, param: str | None) -> dict:
    tax_type, value = tax_ids.read(data, param=param)
    tax_id = {
        'id': new_id('txi'),
        'object': 'tax_id',
        'country': tax_ids.country(tax_type, value),
        'created': ctx.now(customer),
        'customer': customer['id'],
        'customer_account': None,
        'livemode': False,
        'owner': {
            'customer': customer['id'],
            'customer_account': None,
            'type': 'customer',
        },  # fmt: skip
        'type': tax_type,
        'value': value,
        'verification': {'status': 'unavailable', 'verified_address': None, 'verified_name': None},
    }
    return ctx.save_and_emit('customer.tax_id.created', tax_id)


ROUTES = [
    Route('POST', '/v1/customers', create, 'CustomerCreateParams'),
    Route('GET', '/v1/customers', list_customers, 'CustomerListParams'),
    Route('GET', '/v1/customers/{customer}', retrieve, 'CustomerRetrieveParams'),
    Route('POST', '/v1/customers/{customer}', update, 'CustomerUpdateParams'),
    Route('DELETE', '/v1/customers/{customer}', delete, 'CustomerDeleteParams'),
    Route('POST', '/v1/customers/{customer}/tax_ids', create_tax_id, 'CustomerTaxIdCreateParams'),
    Route('GET', '/v1/customers/{customer}/tax_ids', list_tax_ids, 'CustomerTaxIdListParams'),
    Route('GET', '/v1/customers/{customer}/tax_ids/{id}', retrieve_tax_id, 'CustomerTaxIdRetrieveParams'),
    Route('DELETE', '/v1/customers/{customer}/tax_ids/{id}', delete_tax_id, 'CustomerTaxIdDeleteParams'),
]

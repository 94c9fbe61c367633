"""The extractor and the checker themselves, on made-up objects: a checker that found nothing would pass anything."""

import copy

import pytest

from .checker import Checker

CUSTOMER = {
    'id': 'cus_1', 'object': 'customer', 'balance': 0, 'created': 1, 'default_source': None, 'description': None,
    'email': None, 'livemode': False, 'metadata': {}, 'shipping': None,
    'invoice_settings': {'custom_fields': None, 'default_payment_method': None, 'footer': None,
                         'rendering_options': None},
}  # fmt: skip


@pytest.fixture(scope='module')
def types(stripe_types):
    return stripe_types


@pytest.fixture(scope='module')
def checker(stripe_types):
    return Checker(stripe_types)


def faults_of(checker, value) -> set[tuple[str, str, str]]:
    return {fault.key for fault in checker.check(value)}


def customer(**changes) -> dict:
    value = copy.deepcopy(CUSTOMER)
    value.update(changes)
    return value


def test_the_extractor_reads_fields_namespaces_and_imports(types):
    fields = {field.name: field for field in types.fields(types.symbol('Customers', 'Customer'))}
    address, balance = fields['address'], fields['balance']
    assert (address.optional, address.nullable, str(address)) == (True, True, 'address?: Address | null')
    assert (balance.optional, balance.nullable, str(balance)) == (False, False, 'balance: number')
    assert str(fields['test_clock']) == 'test_clock?: string | TestHelpers.TestClock | null'
    assert str(fields['tax_ids']) == 'tax_ids?: ApiList<TaxId>'
    location = types.fields(types.symbol('Customers', 'Customer.Tax.Location'))
    assert [str(field) for field in location] == ['country: string', 'source: Location.Source', 'state: string | null']
    assert [types.display_name(symbol) for symbol in types.by_object('customer')] == ['Customer', 'DeletedCustomer']
    interfaces = types.interfaces('Customers')
    assert {'Customer', 'DeletedCustomer', 'Customer.InvoiceSettings', 'Customer.Tax.Location'} <= set(interfaces)
    assert not [name for name in interfaces if 'Params' in name]  # request types are skipped
    kinds = {field.name: types.kind_of(field) for field in interfaces['Customer']}
    assert kinds['balance'] == kinds['email'] == 'primitive'
    assert (kinds['tax_exempt'], kinds['invoice_settings'], kinds['metadata']) == ('enum', 'object', 'metadata')
    assert (kinds['test_clock'], kinds['tax_ids'], kinds['preferred_locales']) == ('expandable', 'list', 'array')
    assert (kinds['invoice_credit_balance'], kinds['default_source']) == ('map', 'expandable')
    [session] = types.by_object('checkout.session')
    assert types.display_name(session) == 'Checkout.Session'
    assert not any(symbol.name.endswith('Params') for symbol in session.scope.names.values())


def test_a_valid_object_has_no_faults(checker):
    assert faults_of(checker, CUSTOMER) == set()
    assert checker.check_as(CUSTOMER, 'Customers', 'Customer') == []
    assert [f.key for f in checker.check_as(CUSTOMER['invoice_settings'], 'Customers', 'Customer.Shipping')] == [
        ('Customer.Shipping', 'custom_fields', 'unknown'),
        ('Customer.Shipping', 'default_payment_method', 'unknown'),
        ('Customer.Shipping', 'footer', 'unknown'),
        ('Customer.Shipping', 'rendering_options', 'unknown'),
    ]
    assert faults_of(checker, {'id': 'cus_1', 'object': 'customer', 'deleted': True}) == set()
    listed = {'object': 'list', 'data': [CUSTOMER], 'has_more': False, 'url': '/v1/customers'}
    assert faults_of(checker, listed) == set()


def test_each_kind_of_fault_is_found_with_its_path(checker):
    broken = customer(
        balance='0',  # a string for a number
        business_name=None,  # optional, but not nullable
        tax_exempt='sometimes',  # not one of the literals
        metadata={'a': 1},  # Metadata holds strings
        surprise=True,  # not declared
        invoice_settings={'custom_fields': [{'name': 'PO'}], 'default_payment_method': None, 'footer': None},
    )
    del broken['email']
    assert faults_of(checker, broken) == {
        ('Customer', 'balance', 'type'),
        ('Customer', 'business_name', 'null'),
        ('Customer', 'tax_exempt', 'enum'),
        ('Customer', 'metadata.*', 'type'),
        ('Customer', 'surprise', 'unknown'),
        ('Customer', 'email', 'missing'),
        ('Customer', 'invoice_settings.rendering_options', 'missing'),
        ('Customer', 'invoice_settings.custom_fields[].value', 'missing'),
    }


def test_an_expanded_object_is_checked_as_its_own_type(checker):
    clock = {'id': 'clock_1', 'object': 'test_helpers.test_clock', 'created': 1, 'frozen_time': 1, 'livemode': False,
             'name': None, 'status': 'ready', 'status_details': {}, 'deletes_after': 2}  # fmt: skip
    assert faults_of(checker, customer(test_clock='clock_1')) == set()
    assert faults_of(checker, customer(test_clock=clock)) == set()
    assert faults_of(checker, customer(test_clock={**clock, 'status': 'frozen'})) == {
        ('TestHelpers.TestClock', 'status', 'enum')
    }
    assert faults_of(checker, customer(test_clock=7)) == {('Customer', 'test_clock', 'type')}


def test_an_event_is_checked_by_its_type_and_its_object_by_the_events(checker):
    event = {'id': 'evt_1', 'object': 'event', 'api_version': '2026-10-28.endive', 'created': 1, 'livemode': False,
             'pending_webhooks': 0, 'request': {'id': None, 'idempotency_key': None}, 'type': 'customer.created',
             'data': {'object': CUSTOMER}}  # fmt: skip
    assert faults_of(checker, event) == set()
    updated = {**event, 'type': 'customer.updated', 'data': {'object': CUSTOMER, 'previous_attributes': {
        'email': 'old@example.com', 'invoice_settings': {'footer': 'old'}}}}  # fmt: skip
    assert faults_of(checker, updated) == set()  # previous_attributes: any field may be left out, at any depth
    assert faults_of(checker, {**event, 'data': {'object': customer(balance=None)}}) == {
        ('Customer', 'balance', 'null')
    }
    unknown = {**event, 'type': 'customer.renamed', 'data': {'object': customer(balance=None)}}
    assert faults_of(checker, unknown) == {('Event', '', 'variant'), ('Customer', 'balance', 'null')}


def test_a_deleted_object_has_its_own_type(checker):
    assert faults_of(checker, {'id': 'cus_1', 'object': 'customer', 'deleted': True, 'email': None}) == {
        ('DeletedCustomer', 'email', 'unknown')
    }
    assert faults_of(checker, customer(deleted=False)) == {('Customer', 'deleted', 'absent')}

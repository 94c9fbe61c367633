"""Conformance of the core resources through the real SDK: the same tests run against real Stripe test mode
when STRIPE_TEST_SECRET_KEY is set (the `backend` fixture), and otherwise against the emulator only."""

import uuid

import pytest
import stripe

from .conftest import unique

pytestmark = pytest.mark.asyncio


async def test_product_and_price_lifecycle(backend):
    v1 = backend.v1
    product = await v1.products.create_async(params={'name': 'Pro', 'metadata': {'plan': 'pro'}})
    assert product.object == 'product'
    assert product.id.startswith('prod_')
    assert product.active is True
    assert product.metadata['plan'] == 'pro'

    lookup_key = unique('pro-monthly')
    monthly = await v1.prices.create_async(
        params={
            'product': product.id,
            'currency': 'usd',
            'unit_amount': 1500,
            'recurring': {'interval': 'month'},
            'lookup_key': lookup_key,
        }
    )
    assert monthly.id.startswith('price_')
    assert (monthly.type, monthly.unit_amount, monthly.currency) == ('recurring', 1500, 'usd')
    assert (monthly.recurring.interval, monthly.recurring.interval_count) == ('month', 1)
    assert monthly.lookup_key == lookup_key
    one_time = await v1.prices.create_async(params={'product': product.id, 'currency': 'usd', 'unit_amount': 900})
    assert one_time.type == 'one_time'
    assert one_time.recurring is None

    found = await v1.prices.list_async(params={'lookup_keys': [lookup_key]})
    assert [price.id for price in found.data] == [monthly.id]

    # A second price can take over the lookup key only with transfer_lookup_key.
    successor = await v1.prices.create_async(
        params={'product': product.id, 'currency': 'usd', 'unit_amount': 1700, 'recurring': {'interval': 'month'}}
    )
    with pytest.raises(stripe.InvalidRequestError):
        await v1.prices.update_async(successor.id, params={'lookup_key': lookup_key})
    successor = await v1.prices.update_async(
        successor.id, params={'lookup_key': lookup_key, 'transfer_lookup_key': True}
    )
    assert successor.lookup_key == lookup_key
    assert (await v1.prices.retrieve_async(monthly.id)).lookup_key is None

    archived = await v1.prices.update_async(monthly.id, params={'active': False})
    assert archived.active is False
    active = await v1.prices.list_async(params={'product': product.id, 'active': True, 'limit': 100})
    assert {price.id for price in active.data} == {one_time.id, successor.id}

    renamed = await v1.products.update_async(product.id, params={'name': 'Pro 2', 'metadata': {'plan': ''}})
    assert renamed.name == 'Pro 2'
    assert 'plan' not in renamed.metadata
    assert (await v1.products.retrieve_async(product.id)).name == 'Pro 2'


async def test_customer_create_update_and_list(backend):
    v1 = backend.v1
    email = f'{uuid.uuid4().hex[:10]}@example.com'
    customer = await v1.customers.create_async(
        params={
            'name': 'Acme GmbH',
            'email': email,
            'address': {'line1': 'Hauptstr. 1', 'postal_code': '10115', 'city': 'Berlin', 'country': 'DE'},
            'metadata': {'organization_id': '42'},
            'tax_id_data': [{'type': 'eu_vat', 'value': 'DE123456789'}],
        }
    )
    assert customer.id.startswith('cus_')
    assert customer.address.city == 'Berlin'
    assert customer.invoice_settings.default_payment_method is None
    assert customer.metadata['organization_id'] == '42'
    tax_ids = await v1.customers.tax_ids.list_async(customer.id)
    assert [(tax_id.type, tax_id.value) for tax_id in tax_ids.data] == [('eu_vat', 'DE123456789')]

    updated = await v1.customers.update_async(
        customer.id, params={'name': 'Acme AG', 'address': {'line1': 'Ring 2', 'city': 'Zurich', 'country': 'CH'}}
    )
    assert updated.name == 'Acme AG'
    assert (updated.address.line1, updated.address.city, updated.address.postal_code) == ('Ring 2', 'Zurich', None)

    listed = await v1.customers.list_async(params={'email': email})
    assert [c.id for c in listed.data] == [customer.id]
    expanded = await v1.customers.retrieve_async(customer.id, params={'expand': ['tax_ids']})
    assert expanded.tax_ids.data[0].value == 'DE123456789'


async def test_payment_methods_attach_update_detach(backend):
    v1 = backend.v1
    customer = await v1.customers.create_async(params={'name': 'Cards Inc'})
    visa = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    assert visa.id.startswith('pm_')
    assert (visa.card.brand, visa.card.last4, visa.card.funding) == ('visa', '4242', 'credit')
    mastercard = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_mastercard'}})
    for pm in (visa, mastercard):
        attached = await v1.payment_methods.attach_async(pm.id, params={'customer': customer.id})
        assert attached.customer == customer.id
    customer = await v1.customers.update_async(
        customer.id, params={'invoice_settings': {'default_payment_method': visa.id}}
    )
    assert customer.invoice_settings.default_payment_method == visa.id

    updated = await v1.payment_methods.update_async(
        mastercard.id,
        params={
            'card': {'exp_month': 7, 'exp_year': 2031},
            'billing_details': {'name': 'Ada Lovelace', 'address': {'country': 'GB', 'postal_code': 'N1 9GU'}},
        },
    )
    assert (updated.card.exp_month, updated.card.exp_year) == (7, 2031)
    assert updated.billing_details.name == 'Ada Lovelace'
    assert updated.billing_details.address.postal_code == 'N1 9GU'

    listed = await v1.customers.payment_methods.list_async(customer.id)
    assert {pm.id for pm in listed.data} == {visa.id, mastercard.id}
    by_query = await v1.payment_methods.list_async(params={'customer': customer.id, 'type': 'card'})
    assert {pm.id for pm in by_query.data} == {visa.id, mastercard.id}
    expanded = await v1.customers.retrieve_async(
        customer.id, params={'expand': ['invoice_settings.default_payment_method']}
    )
    assert expanded.invoice_settings.default_payment_method.card.last4 == '4242'

    detached = await v1.payment_methods.detach_async(visa.id)
    assert detached.customer is None
    remaining = await v1.customers.payment_methods.list_async(customer.id)
    assert [pm.id for pm in remaining.data] == [mastercard.id]
    # The detached card was the default; Stripe forgets it.
    assert (await v1.customers.retrieve_async(customer.id)).invoice_settings.default_payment_method is None
    events = await v1.events.list_async(params={'type': 'payment_method.detached', 'limit': 100})
    assert visa.id in {event.data.object.id for event in events.data}


async def test_attaching_a_declining_card_is_a_card_error(backend):
    v1 = backend.v1
    customer = await v1.customers.create_async(params={'name': 'Declined'})
    pm = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_chargeDeclined'}})
    with pytest.raises(stripe.CardError) as raised:
        await v1.payment_methods.attach_async(pm.id, params={'customer': customer.id})
    assert raised.value.code == 'card_declined'
    assert raised.value.http_status == 402
    assert raised.value.error.decline_code == 'generic_decline'
    assert raised.value.user_message == 'Your card was declined.'


async def test_idempotent_replay_and_conflict(backend):
    v1 = backend.v1
    key = unique('idem')
    params = {'name': 'Once Only', 'metadata': {'attempt': '1'}}
    first = await v1.customers.create_async(params=params, options={'idempotency_key': key})
    again = await v1.customers.create_async(params=dict(params), options={'idempotency_key': key})
    assert again.id == first.id
    assert again.last_response.headers.get('Idempotent-Replayed') == 'true'
    with pytest.raises(stripe.IdempotencyError):
        await v1.customers.create_async(params={'name': 'Someone else'}, options={'idempotency_key': key})


async def test_unknown_ids_are_resource_missing(backend):
    v1 = backend.v1
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await v1.customers.retrieve_async('cus_doesnotexist000')
    assert raised.value.http_status == 404
    assert raised.value.code == 'resource_missing'
    assert raised.value.param == 'id'
    assert raised.value.user_message == "No such customer: 'cus_doesnotexist000'"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await v1.subscriptions.create_async(params={'customer': 'cus_doesnotexist000', 'items': [{'price': 'x'}]})
    assert raised.value.param == 'customer'


async def test_missing_and_unknown_parameters(backend):
    v1 = backend.v1
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await v1.prices.create_async(params={'unit_amount': 100, 'product_data': {'name': 'x'}})
    assert (raised.value.code, raised.value.param) == ('parameter_missing', 'currency')
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await v1.customers.create_async(params={'nickname': 'not a customer field'})
    assert (raised.value.code, raised.value.param) == ('parameter_unknown', 'nickname')


async def test_paging_newest_first(backend):
    v1 = backend.v1
    email = f'{uuid.uuid4().hex[:10]}@paging.example.com'
    created = [(await v1.customers.create_async(params={'email': email, 'name': f'C{n}'})).id for n in range(5)]
    newest_first = list(reversed(created))

    first = await v1.customers.list_async(params={'email': email, 'limit': 2})
    assert first.object == 'list'
    assert first.url == '/v1/customers'
    assert [c.id for c in first.data] == newest_first[:2]
    assert first.has_more is True
    second = await v1.customers.list_async(params={'email': email, 'limit': 2, 'starting_after': first.data[-1].id})
    assert [c.id for c in second.data] == newest_first[2:4]
    assert second.has_more is True
    last = await v1.customers.list_async(params={'email': email, 'limit': 2, 'starting_after': second.data[-1].id})
    assert [c.id for c in last.data] == newest_first[4:]
    assert last.has_more is False

    before = await v1.customers.list_async(params={'email': email, 'limit': 2, 'ending_before': newest_first[3]})
    assert [c.id for c in before.data] == newest_first[1:3]
    assert before.has_more is True

    everything = [
        c.id async for c in (await v1.customers.list_async(params={'email': email, 'limit': 2})).auto_paging_iter()
    ]
    assert everything == newest_first


async def test_events_record_changes(backend):
    v1 = backend.v1
    customer = await v1.customers.create_async(params={'name': 'Before'})
    await v1.customers.update_async(customer.id, params={'name': 'After'})
    events = await v1.events.list_async(params={'type': 'customer.updated', 'limit': 20})
    event = next(e for e in events.data if e.data.object.id == customer.id)
    assert event.id.startswith('evt_')
    assert event.livemode is False
    assert event.data.object.name == 'After'
    assert event.data.previous_attributes['name'] == 'Before'
    retrieved = await v1.events.retrieve_async(event.id)
    assert retrieved.type == 'customer.updated'
    assert retrieved.api_version


async def test_test_clock_create_list_delete(backend):
    v1 = backend.v1
    clock = await v1.test_helpers.test_clocks.create_async(params={'frozen_time': 1_800_000_000, 'name': 'listed'})
    assert clock.id.startswith('clock_')
    assert (clock.frozen_time, clock.name, clock.status) == (1_800_000_000, 'listed', 'ready')
    listed = await v1.test_helpers.test_clocks.list_async(params={'limit': 100})
    assert clock.id in {c.id for c in listed.data}
    await backend.advance_clock(clock.id, 1_800_000_000 + 3600)
    assert (await v1.test_helpers.test_clocks.retrieve_async(clock.id)).frozen_time == 1_800_000_000 + 3600
    deleted = await v1.test_helpers.test_clocks.delete_async(clock.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await v1.test_helpers.test_clocks.retrieve_async(clock.id)
    assert raised.value.code == 'resource_missing'

"""Response shapes at `2026-10-28.endive`: optional fields that are not nullable are absent rather than null, and
fields that endive always returns (possibly as null) are present. The faults listed in issue 13, each checked
through the real SDK, against the emulator and, with STRIPE_TEST_SECRET_KEY, against Stripe."""

from .billing_helpers import catalogue, customer_on_clock, open_invoice, subscribe


async def test_optional_fields_are_absent_and_endive_fields_present(backend):
    v1 = backend.v1
    prices = await catalogue(backend)
    _, customer, _ = await customer_on_clock(backend)
    assert 'business_name' not in customer and 'individual_name' not in customer
    named = await v1.customers.update_async(customer.id, params={'business_name': 'Acme GmbH'})
    assert named.business_name == 'Acme GmbH'
    subscription = await subscribe(backend, customer, prices.pro_monthly)
    assert subscription.status == 'active'
    for absent in ('presentment_details', 'status_details'):
        assert absent not in subscription, absent
    assert 'managed_payments' in subscription and 'allowed_payment_method_types' not in subscription
    assert 'feedback_option' in subscription.cancellation_details
    assert 'billing_cycle_anchor' in subscription.trial_settings.end_behavior
    assert 'billed_until' not in subscription['items'].data[0]

    invoice = await v1.invoices.retrieve_async(subscription.latest_invoice)
    assert 'threshold_reason' not in invoice
    assert 'subscription_proration_date' not in invoice.parent.subscription_details
    product = await v1.products.retrieve_async((await v1.prices.retrieve_async(prices.pro_monthly)).product)
    assert 'tax_details' in product

    session = await v1.checkout.sessions.create_async(params={
        'mode': 'payment', 'customer': customer.id, 'success_url': 'https://example.com/ok',
        'line_items': [{'price': prices.token_pack, 'quantity': 1}],
    })  # fmt: skip
    assert 'presentment_details' not in session
    for present in ('allowed_payment_method_types', 'managed_payments'):
        assert present in session, present
    [intent] = (await v1.payment_intents.list_async(params={'customer': customer.id})).data  # the renewal's payment
    for present in ('allowed_payment_method_types', 'managed_payments', 'payment_record'):
        assert present in intent, present
    tax_id = await v1.customers.tax_ids.create_async(customer.id, params={'type': 'eu_vat', 'value': 'DE123456789'})
    assert 'account' not in tax_id.owner and 'application' not in tax_id.owner


async def test_a_price_expands_its_product_alone_and_in_a_list(backend):
    v1 = backend.v1
    prices = await catalogue(backend)
    price = await v1.prices.retrieve_async(prices.pro_monthly, params={'expand': ['product']})
    assert price.product.object == 'product' and price.product.name == 'Pro'
    listed = await v1.prices.list_async(params={'expand': ['data.product'], 'limit': 100})
    assert all(item.product.object == 'product' for item in listed.data)


async def test_a_failed_payment_names_its_whole_payment_method(backend):
    prices = await catalogue(backend)
    customer, failing, _, _ = await open_invoice(backend, prices.basic_monthly)
    [intent] = (await backend.v1.payment_intents.list_async(params={'customer': customer.id})).data
    method = intent.last_payment_error.payment_method
    assert method.id == failing.id and method.object == 'payment_method'
    assert method.type == 'card' and method.card.last4 == failing.card.last4

"""Building blocks for the billing conformance tests: a catalogue, and a paying customer on a test clock."""

import datetime
from dataclasses import dataclass

# Tests that do the arithmetic by hand start their clock here: a 31-day January, in the future.
JAN_1_2027 = int(datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC).timestamp())
DAY = 86400


@dataclass
class Catalogue:
    basic_monthly: str  # $30.00 / month
    pro_monthly: str  # $50.00 / month
    pro_yearly: str  # $500.00 / year
    token_pack: str  # $10.00 once


async def catalogue(backend) -> Catalogue:
    v1 = backend.v1
    basic = await v1.products.create_async(params={'name': 'Basic'})
    pro = await v1.products.create_async(params={'name': 'Pro'})
    tokens = await v1.products.create_async(params={'name': 'Token pack'})

    async def price(product, amount, interval=None):
        params = {'product': product.id, 'currency': 'usd', 'unit_amount': amount}
        if interval:
            params['recurring'] = {'interval': interval}
        return (await v1.prices.create_async(params=params)).id

    return Catalogue(
        basic_monthly=await price(basic, 3000, 'month'),
        pro_monthly=await price(pro, 5000, 'month'),
        pro_yearly=await price(pro, 50000, 'year'),
        token_pack=await price(tokens, 1000),
    )


async def customer_on_clock(backend, *, start: int = JAN_1_2027, card: str = 'tok_visa'):
    """A customer living in a new test clock at `start`, with a default card made from the test token `card`."""
    v1 = backend.v1
    clock = await v1.test_helpers.test_clocks.create_async(params={'frozen_time': start, 'name': 'conformance'})
    customer = await v1.customers.create_async(params={'name': 'Clocked', 'test_clock': clock.id})
    pm = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': card}})
    await v1.payment_methods.attach_async(pm.id, params={'customer': customer.id})
    await v1.customers.update_async(customer.id, params={'invoice_settings': {'default_payment_method': pm.id}})
    return clock, customer, pm


async def open_invoice(backend, price: str, **customer_params):
    """A new customer whose default card is declined when charged, subscribed to `price`: its first invoice is open.

    Returns the customer, that card, the (incomplete) subscription and the invoice."""
    v1 = backend.v1
    customer = await v1.customers.create_async(params=customer_params)
    failing = await v1.payment_methods.create_async(
        params={'type': 'card', 'card': {'token': 'tok_chargeCustomerFail'}}
    )
    await v1.payment_methods.attach_async(failing.id, params={'customer': customer.id})
    subscription = await v1.subscriptions.create_async(
        params={'customer': customer.id, 'items': [{'price': price}], 'default_payment_method': failing.id}
    )
    return customer, failing, subscription, await v1.invoices.retrieve_async(subscription.latest_invoice)


async def subscribe(backend, customer, price: str, quantity: int = 1, **params):
    return await backend.v1.subscriptions.create_async(
        params={'customer': customer.id, 'items': [{'price': price, 'quantity': quantity}], **params}
    )


def proration_lines(invoice) -> list:
    return [line for line in invoice.lines.data if line.parent.subscription_item_details.proration]

"""What the hosted Checkout page says (emulator-only): a line item's inline price and product, Checkout's custom texts,
and who pays."""

import httpx
import pytest
import stripe

pytestmark = pytest.mark.asyncio

GOOD_CARD = {'card_number': '4242 4242 4242 4242', 'expiry': '12 / 34', 'cvc': '123', 'name': 'Ada Lovelace'}
TOKEN_PACK = {'currency': 'usd', 'unit_amount': 1000, 'product_data': {'name': 'Token pack (1,000 tokens)'}}


async def test_an_inline_price_and_the_custom_texts_are_what_the_page_shows(emulator_client):
    v1 = emulator_client.v1
    customer = await v1.customers.create_async(params={'name': 'Acme Corp', 'email': 'billing@acme.example'})
    session = await v1.checkout.sessions.create_async(params={
        'mode': 'payment', 'customer': customer.id, 'success_url': 'https://portico.example/done',
        'line_items': [{'price_data': TOKEN_PACK, 'quantity': 3}],
        'custom_text': {'submit': {'message': 'Buy 3,000 tokens'}, 'after_submit': {'message': 'For Acme Corp.'}},
    })  # fmt: skip
    assert session.amount_total == 3000
    assert session.custom_text.submit.message == 'Buy 3,000 tokens'
    assert session.custom_text.shipping_address is None
    [item] = (await v1.checkout.sessions.line_items.list_async(session.id)).data
    assert (item.description, item.quantity, item.price.unit_amount) == ('Token pack (1,000 tokens)', 3, 1000)
    assert item.price.active is False  # as on Stripe: an inline price is the session's own
    product = await v1.products.retrieve_async(item.price.product)
    assert product.name == 'Token pack (1,000 tokens)'

    async with httpx.AsyncClient() as http:
        page = (await http.get(session.url)).text
        assert '<h1>Buy 3,000 tokens</h1>' in page
        assert '<div>Token pack (1,000 tokens)</div><div class="muted">Qty 3, $10.00 each</div>' in page
        assert 'Paying as Acme Corp · billing@acme.example' in page
        assert page.index('type="submit"') < page.index('For Acme Corp.')  # after the button, as on Stripe
        assert (await http.post(session.url, data=GOOD_CARD)).status_code == 303
    done = await v1.checkout.sessions.retrieve_async(session.id)
    assert (done.status, done.payment_status) == ('complete', 'paid')

    plain = await v1.checkout.sessions.create_async(params={
        'mode': 'payment', 'success_url': 'https://portico.example/done', 'line_items': [{'price_data': TOKEN_PACK}],
    })  # fmt: skip
    async with httpx.AsyncClient() as http:
        assert '<h1>Pay ' in (await http.get(plain.url)).text  # without custom text: the account's name


@pytest.mark.parametrize(
    ('line_item', 'custom_text', 'param'),
    [
        ({'price_data': {'currency': 'usd', 'unit_amount': 1000}}, {}, 'line_items[0][price_data][product]'),
        ({'price_data': {**TOKEN_PACK, 'unit_amount': None}}, {}, 'line_items[0][price_data][unit_amount]'),
        ({'price_data': TOKEN_PACK}, {'submit': {'message': 'x' * 1201}}, 'custom_text[submit][message]'),
    ],
    ids=['no-product', 'no-amount', 'text-too-long'],
)
async def test_what_checkout_refuses(emulator_client, line_item, custom_text, param):
    params = {'mode': 'payment', 'success_url': 'https://portico.example/done', 'line_items': [line_item]}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        await emulator_client.v1.checkout.sessions.create_async(params={**params, 'custom_text': custom_text})
    assert refused.value.param == param

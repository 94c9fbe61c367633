"""Odd input gets Stripe-style 4xx answers, never a 500 or a traceback (emulator-only, raw HTTP)."""

import base64

import httpx
import pytest

from stripe_emulator.app import MAX_API_BODY_BYTES
from stripe_emulator.hosted.forms import MAX_FORM_BYTES

from .billing_helpers import catalogue

pytestmark = pytest.mark.asyncio


class _Backend:
    def __init__(self, client):
        self.v1 = client.v1


@pytest.fixture
async def api(emulator_server):
    headers = {'Authorization': f'Bearer {emulator_server.emulator.api_key}'}
    async with httpx.AsyncClient(base_url=emulator_server.api_url, headers=headers, timeout=30) as http:
        yield http


@pytest.fixture
async def anonymous(emulator_server):
    async with httpx.AsyncClient(base_url=emulator_server.api_url, timeout=30) as http:
        yield http


def _stripe_error(response: httpx.Response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    error = response.json()['error']
    assert error['type'] == 'invalid_request_error'
    assert 'Traceback' not in response.text
    return error


@pytest.mark.parametrize(
    'authorization',
    [b'Basic a', b'Basic \xc3\xa9', b'Basic =', b'Basic ' + base64.b64encode(b':secret'), b'Basic', b'Bearer \xc3\xa9',
     b'Basic ' + base64.b64encode(b'\xff\xfe:x'), b'Digest abc', b'Basic ' + b'A' * 10_000],
)  # fmt: skip
async def test_malformed_authorization_is_a_401(anonymous, authorization):
    response = await anonymous.get('/v1/customers', headers={'Authorization': authorization})
    assert response.status_code == 401
    assert response.json()['error']['type'] == 'invalid_request_error'


async def test_basic_auth_with_the_key_still_works(anonymous, emulator_server):
    token = base64.b64encode(f'{emulator_server.emulator.api_key}:'.encode()).decode()
    assert (await anonymous.get('/v1/customers', headers={'Authorization': f'Basic {token}'})).status_code == 200


@pytest.mark.parametrize(
    ('method', 'path', 'body', 'param'),
    [
        ('POST', '/v1/customers', 'name=a&' + 'metadata' + '[a]' * 50 + '=1', None),  # nested too deeply
        ('POST', '/v1/customers', 'a' + '[b]' * 3000 + '=1', None),
        ('POST', '/v1/customers', 'name[=x', None),
        ('POST', '/v1/customers', 'tax_id_data=x', 'tax_id_data[0]'),
        ('POST', '/v1/customers', 'tax_id_data[0]=x', 'tax_id_data[0]'),
        ('POST', '/v1/customers', 'preferred_locales[0][a]=b', 'preferred_locales'),
        ('POST', '/v1/customers', 'metadata[]=1&metadata[a]=2', 'metadata'),  # an array and a hash at once
        ('POST', '/v1/customers', 'name=a&name[x]=b', None),
        ('POST', '/v1/products', 'name=p&marketing_features[0]=x', 'marketing_features[0]'),
        ('GET', '/v1/events', 'types[0][a]=b', 'types'),
        ('GET', '/v1/prices', 'lookup_keys[0][a]=b', 'lookup_keys'),
        ('GET', '/v1/products', 'ids[0][a]=1', 'ids'),
        ('GET', '/v1/customers', 'limit=abc', 'limit'),
        ('GET', '/v1/customers', 'limit=1e3', 'limit'),
        ('GET', '/v1/customers', 'limit[]=1', 'limit'),
        ('GET', '/v1/customers', 'limit=' + '9' * 5000, 'limit'),
        ('GET', '/v1/customers', 'limit=0', 'limit'),
        ('GET', '/v1/customers', 'starting_after[a]=1', 'starting_after'),
        ('GET', '/v1/customers', 'expand[]=', 'expand'),
        ('GET', '/v1/customers', 'expand[]=data.data.data.data.data', 'expand'),
        ('GET', '/v1/customers', 'expand[0][x]=1', 'expand'),
        ('GET', '/v1/customers', 'expand[]=url', 'expand'),
        ('POST', '/v1/test_helpers/test_clocks', 'frozen_time=99999999999', 'frozen_time'),
        ('POST', '/v1/test_helpers/test_clocks', 'frozen_time=-5', 'frozen_time'),
        ('POST', '/v1/test_helpers/test_clocks', 'frozen_time=' + '9' * 40, 'frozen_time'),
        ('POST', '/v1/checkout/sessions', 'mode=payment&line_items[0]=x', 'line_items[0]'),
        ('POST', '/v1/checkout/sessions', 'mode=payment&line_items[²][price]=x', 'line_items'),
        ('POST', '/v1/checkout/sessions', 'mode=payment&line_items[%00][price]=x', 'line_items'),
        ('POST', '/v1/checkout/sessions', 'mode=payment&line_items[' + '9' * 5000 + '][price]=x', 'line_items'),
        ('POST', '/v1/refunds', 'payment_intent[a]=1', 'payment_intent'),
        ('POST', '/v1/refunds', 'charge=ch_x&amount=abc', 'amount'),
        ('POST', '/v1/payment_methods', 'type=sepa_debit&sepa_debit=x', 'sepa_debit'),
        ('GET', '/v1/charges/%00', '', 'id'),
        ('GET', '/v1/charges/%C3%A9', '', 'id'),
        ('GET', '/v1/disputes/' + 'x' * 5000, '', 'id'),
        ('POST', '/v1/disputes/du_%FF/close', '', 'id'),
    ],
)
async def test_malformed_parameters_are_400s(api, method, path, body, param):
    if method == 'GET':
        response = await api.get(f'{path}?{body}' if body else path)
    else:
        response = await api.post(path, content=body, headers={'Content-Type': 'application/x-www-form-urlencoded'})
    status = 404 if param == 'id' else 400
    error = _stripe_error(response, status)
    if param:
        assert error.get('param') == param, error


async def test_too_many_parameters(api):
    body = '&'.join(f'metadata[k{n}]=v' for n in range(10_001))
    response = await api.post('/v1/customers', content=body)
    assert 'Too many parameters' in _stripe_error(response)['message']


@pytest.mark.parametrize('body', [b'name=\xff\xfe', b'\xc3\x28=1'])
async def test_a_body_that_is_not_utf8_is_a_400(api, body):
    headers = {'Content-Type': 'application/x-www-form-urlencoded'}
    response = await api.post('/v1/customers', content=body, headers=headers)
    assert 'UTF-8' in _stripe_error(response)['message']


async def test_a_huge_api_body_is_refused_unread(api):
    announced = await api.post('/v1/customers', content=b'name=' + b'a' * (MAX_API_BODY_BYTES + 1))
    _stripe_error(announced, 413)

    async def chunks():
        for _ in range(MAX_API_BODY_BYTES // 65536 + 2):
            yield b'a' * 65536

    chunked = await api.post('/v1/customers', content=chunks())
    _stripe_error(chunked, 413)


# --- hosted pages ---------------------------------------------------------------------------------------------


@pytest.fixture
async def hosted(emulator_server):
    async with httpx.AsyncClient(base_url=emulator_server.api_url, timeout=30) as http:
        yield http


@pytest.fixture
async def open_session(emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    return await backend.v1.checkout.sessions.create_async(
        params={
            'mode': 'payment',
            'line_items': [{'price': prices.token_pack, 'adjustable_quantity': {'enabled': True}}],
            'success_url': 'https://x.example/ok',
        }
    )


@pytest.mark.parametrize(
    'path',
    ['/invoice/in_x/%C3%A9', '/invoice/in_x/%C3%A9/pdf', '/invoice/%FF/%FF', '/invoice/%00/x', '/pay/%00',
     '/pay/%C3%A9', '/pay/' + 'x' * 5000, '/mandate/mandate_x/%C3%A9', '/mandate/%FF/x'],
)  # fmt: skip
async def test_odd_hosted_urls_are_404_pages(hosted, path):
    response = await hosted.get(path)
    assert response.status_code == 404
    assert response.headers['content-type'].startswith('text/html')


async def test_a_real_invoice_with_a_non_ascii_token_is_a_404(hosted, emulator_client):
    backend = _Backend(emulator_client)
    prices = await catalogue(backend)
    customer = await backend.v1.customers.create_async(params={'name': 'Tokens'})
    pm = await backend.v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
    await backend.v1.payment_methods.attach_async(pm.id, params={'customer': customer.id})
    subscription = await backend.v1.subscriptions.create_async(
        params={'customer': customer.id, 'items': [{'price': prices.pro_monthly}], 'default_payment_method': pm.id}
    )
    invoice_id = subscription.latest_invoice
    for method in ('GET', 'POST'):
        response = await hosted.request(method, f'/invoice/{invoice_id}/%C3%A9')
        assert response.status_code == 404


async def test_hosted_forms_refuse_big_bodies_before_reading_them(hosted, open_session):
    path = httpx.URL(open_session.url).path.removeprefix('/emulator/stripe')
    announced = await hosted.post(path, content=b'name=' + b'a' * MAX_FORM_BYTES)
    assert announced.status_code == 413

    async def chunks():  # no Content-Length: counted as it streams in
        for _ in range(100):
            yield b'a' * 65536

    chunked = await hosted.post(path, content=chunks())
    assert chunked.status_code == 413
    assert 'too large' in chunked.text or 'larger than' in chunked.text
    invoice = await hosted.post('/invoice/in_x/token', content=b'a' * (MAX_FORM_BYTES + 1))
    assert invoice.status_code == 413


@pytest.mark.parametrize(
    'body',
    [b'card_number=\xff\xfe', '&'.join(f'f{n}=1' for n in range(101)).encode(), b'card_number=%E2%91%A0%E2%91%A1',
     'card_number=٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢&expiry=١٢/٣٤&cvc=١٢٣&name=x'.encode(), 'cvc=²²²&card_number=²'.encode(),
     b'method=sepa_debit&iban=%00%00&account_holder=x', b'method=sepa_debit&iban=' + b'9' * 2000,
     b'method=unknown&card_number=4242424242424242'],
)  # fmt: skip
async def test_odd_hosted_form_bodies_are_4xx(hosted, open_session, body):
    path = httpx.URL(open_session.url).path.removeprefix('/emulator/stripe')
    response = await hosted.post(path, content=body, headers={'Content-Type': 'application/x-www-form-urlencoded'})
    assert 400 <= response.status_code < 500
    assert 'Traceback' not in response.text


async def test_odd_quantities_are_field_errors(hosted, open_session, emulator_client):
    item = (await emulator_client.v1.checkout.sessions.line_items.list_async(open_session.id)).data[0]
    path = httpx.URL(open_session.url).path.removeprefix('/emulator/stripe')
    card = {'card_number': '4242424242424242', 'expiry': '12 / 34', 'cvc': '123', 'name': 'Q'}
    for quantity in ('²', '٣', '9' * 500, '-1'):
        response = await hosted.post(path, data={**card, f'quantity_{item.id}': quantity})
        assert response.status_code == 400
        assert 'Enter a quantity between' in response.text

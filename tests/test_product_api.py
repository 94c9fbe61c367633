"""The product API over HTTP (in-process): keys, entitlements, users, token consumption and grants, the trial's end,
and every error shape."""

import asyncio
import logging
from datetime import timedelta

import httpx
import pytest

from api import create_api
from db.models import ApiKey, AuditEvent, BillingAccount, Organization, SubscriptionMirror, TokenLedgerEntry
from services import api_keys, moments
from services.container import Services
from tests.billing_helpers import subscribed
from tests.helpers import create_admin, create_member

AMOUNT = 7


@pytest.fixture
async def api(services: Services):
    """An HTTP client of /api with a valid key (`client.key`), the app served in-process."""
    made = await api_keys.create(name='product', live=False)
    transport = httpx.ASGITransport(app=create_api(services), root_path='/api')
    async with httpx.AsyncClient(transport=transport, base_url='http://portico/api') as client:
        client.headers['authorization'] = f'Bearer {made.secret}'
        client.key = made.secret
        yield client


async def flexible_with_tokens(services: Services, emulator_app, tokens: int = 100):
    admin = await subscribed(services, emulator_app, plan='flexible')
    await BillingAccount.filter(organization_id=admin.organization_id).update(token_balance=tokens)
    return admin


def consume(api, organization_id: int, key: str, amount: int = AMOUNT, **extra):
    body = {'amount': amount, 'idempotency_key': key, **extra}
    return api.post(f'/v1/organizations/{organization_id}/tokens/consume', json=body)


async def test_keys_are_kept_as_digests_refused_when_wrong_or_revoked_and_logged_without_the_key(
    api, services, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger='portico.api')
    admin = await create_admin()
    path = f'/v1/organizations/{admin.organization_id}'
    assert (await api.get(path)).status_code == 200
    key = await ApiKey.get(name='product')
    assert api.key.startswith('pk_test_') and key.digest != api.key and api.key not in str(await ApiKey.all().values())
    assert key.last_used_at is not None
    for authorization in (None, 'Bearer pk_test_wrong_wrong_wrong_wrong', 'Basic cGs6', api.key):
        headers = {'authorization': authorization} if authorization else {}
        response = await api.get(path, headers=headers) if authorization else await _without_key(api, path)
        assert response.status_code == 401, authorization
        assert response.json()['error'] == {
            'type': 'authentication_error', 'code': 'invalid_api_key',
            'message': 'Provide a valid API key: Authorization: Bearer pk_… (python main.py api-key create).',
        }  # fmt: skip
        if authorization == 'Basic cGs6':
            await api_keys.revoke('product')  # the next try uses the right key, revoked
    assert api.key not in caplog.text and 'refused' in caplog.text
    assert await AuditEvent.filter(organization_id=None, action__in=['api_key.created', 'api_key.revoked']).count() == 2


async def _without_key(api, path: str):
    return await api.get(path, headers={'authorization': ''})


async def test_entitlements_of_a_trial_a_subscription_an_ended_trial_and_a_cancelled_subscription(
    api, services, emulator_app, monkeypatch
) -> None:
    trial = await create_admin('Trial Org')
    await create_member(trial)
    body = (await api.get(f'/v1/organizations/{trial.organization_id}')).json()
    assert (body['object'], body['name'], body['plan'], body['status'], body['is_live']) == (
        'organization', 'Trial Org', None, 'trial', True)  # fmt: skip
    assert body['seats'] == {'limit': 3, 'in_use': 2} and body['token_balance'] == 0
    assert body['trial']['end'] - body['trial']['start'] == 14 * 86400 and body['scheduled_end'] is None

    paying = await flexible_with_tokens(services, emulator_app, tokens=500)
    body = (await api.get(f'/v1/organizations/{paying.organization_id}')).json()
    assert body['plan']['id'] == 'flexible' and 'Prepaid token packs' in body['plan']['features']
    assert (body['status'], body['is_live'], body['seats']['limit'], body['token_balance']) == ('active', True, 2, 500)

    later = moments.now() + timedelta(days=15)
    monkeypatch.setattr(moments, 'now', lambda: later)
    monkeypatch.setattr('services.entitlements.now', lambda: later)
    body = (await api.get(f'/v1/organizations/{trial.organization_id}')).json()
    assert (body['status'], body['is_live']) == ('trial_ended', False)
    assert (await api.get(f'/v1/organizations/{paying.organization_id}')).json()['is_live'] is True

    await SubscriptionMirror.filter(organization_id=paying.organization_id).update(status='canceled')
    body = (await api.get(f'/v1/organizations/{paying.organization_id}')).json()
    assert (body['status'], body['is_live']) == ('canceled', False)
    refused = await consume(api, paying.organization_id, 'after-the-end')
    assert refused.status_code == 403 and refused.json()['error']['code'] == 'subscription_inactive'


async def test_organizations_and_users_are_listed_and_paged_like_stripes_lists(api, services) -> None:
    first = await create_admin('First', email='ann@first.example.com')
    second = await create_admin('Second', email='bob@second.example.com')
    third = await create_admin('Third', email='cy@first.example.com')
    page = (await api.get('/v1/organizations', params={'limit': 2})).json()
    assert page['object'] == 'list' and page['has_more'] is True
    assert [org['id'] for org in page['data']] == [third.organization_id, second.organization_id]
    rest = (await api.get('/v1/organizations', params={'limit': 2, 'starting_after': page['data'][-1]['id']})).json()
    assert [org['id'] for org in rest['data']] == [first.organization_id] and rest['has_more'] is False
    domain = (await api.get('/v1/organizations', params={'email_domain': 'FIRST.example.com'})).json()
    assert {org['id'] for org in domain['data']} == {first.organization_id, third.organization_id}

    found = (await api.get('/v1/users', params={'email': 'Bob@Second.example.com'})).json()
    assert [user['id'] for user in found['data']] == [second.id]
    user = (await api.get(f'/v1/users/{second.id}')).json()
    assert user == {
        'object': 'user',
        'id': second.id,
        'organization': second.organization_id,
        'name': 'Ada Admin',
        'email': 'bob@second.example.com',
        'role': 'admin',
        'is_enabled': True,
        'last_login': None,
    }
    for path in ('/v1/users/999999', '/v1/organizations/999999', '/v1/organizations/999999/tokens/ledger'):
        missing = await api.get(path)
        assert missing.status_code == 404 and missing.json()['error']['code'] == 'resource_missing', path
    for path, params in (
        ('/v1/organizations', {'email_domain': 'a\x00b'}),
        ('/v1/users', {'email': 'a\x00@b.c'}),
        ('/v1/organizations', {'starting_after': 2**31}),
        ('/v1/users', {'starting_after': 2**62}),
    ):
        refused = await api.get(path, params=params)  # beyond PostgreSQL's integer or with a NUL: 400, never 500
        assert refused.status_code == 400 and refused.json()['error']['param'] in params, (path, params)
    assert refused.json()['error']['message'] == 'starting_after: Input should be less than or equal to 2147483647.'
    nul = (await api.get('/v1/users', params={'email': 'a\x00@b.c'})).json()['error']['message']
    assert nul == 'email: must not hold control characters.'


async def test_consuming_is_atomic_idempotent_and_never_below_zero(api, services, emulator_app) -> None:
    admin = await flexible_with_tokens(services, emulator_app, tokens=20)
    org = admin.organization_id
    spent = await consume(api, org, 'report-1', description='Rendered report 1', metadata={'report': '1'})
    assert spent.status_code == 200
    assert spent.json()['balance'] == 13 and spent.json()['entry']['delta'] == -AMOUNT
    assert (
        spent.json()['entry']['kind'] == 'consumption' and spent.json()['entry']['description'] == 'Rendered report 1'
    )
    again = await consume(api, org, 'report-1', description='Rendered report 1', metadata={'report': '1'})
    assert again.json() == spent.json()  # the first answer, and no second debit
    reused = await consume(api, org, 'report-1', amount=1)
    assert reused.status_code == 409 and reused.json()['error']['code'] == 'idempotency_key_reused'
    assert (await consume(api, org, 'report-2')).json()['balance'] == 6
    short = await consume(api, org, 'report-3')
    assert short.status_code == 402 and short.json()['error'] == {
        'type': 'invalid_request_error', 'code': 'insufficient_tokens', 'balance': 6,
        'message': 'The balance is 6 tokens, less than 7.',
    }  # fmt: skip
    assert (await BillingAccount.get(organization_id=org)).token_balance == 6
    for bad in (
        {'amount': 0, 'idempotency_key': 'x'},
        {'amount': 5},
        {'amount': 5, 'idempotency_key': ''},
        {'amount': 'five', 'idempotency_key': 'x'},
        {'amount': 5, 'idempotency_key': 'x', 'extra': 1},
        {'amount': 5, 'idempotency_key': 'x\x00'},  # PostgreSQL refuses NUL in text: a 400, never a 500
        {'amount': 5, 'idempotency_key': 'x', 'description': 'a\x00b'},
        {'amount': 5, 'idempotency_key': 'x', 'metadata': {'k': 'v\x00'}},
        {'amount': 5, 'idempotency_key': 'x', 'metadata': {'k' * 41: 'v'}},
    ):
        invalid = await api.post(f'/v1/organizations/{org}/tokens/consume', json=bad)
        assert invalid.status_code == 400 and invalid.json()['error']['type'] == 'invalid_request_error', bad


async def test_200_concurrent_consumes_with_20_keys_debit_exactly_20_times(api, services, emulator_app) -> None:
    admin = await flexible_with_tokens(services, emulator_app, tokens=1000)
    requests = [consume(api, admin.organization_id, f'job-{n % 20}') for n in range(200)]
    answers = await asyncio.gather(*requests)
    assert {answer.status_code for answer in answers} <= {200, 409}, {answer.text for answer in answers}
    assert (await BillingAccount.get(organization_id=admin.organization_id)).token_balance == 1000 - 20 * AMOUNT
    assert await TokenLedgerEntry.filter(organization_id=admin.organization_id, kind='consumption').count() == 20
    by_key: dict[str, set] = {}
    for n, answer in enumerate(answers):
        if answer.status_code == 200:
            by_key.setdefault(f'job-{n % 20}', set()).add(answer.json()['entry']['id'])
    assert all(len(entries) == 1 for entries in by_key.values())  # every repeat got the first answer


async def test_grants_are_idempotent_and_the_ledger_pages_newest_first(api, services, emulator_app) -> None:
    admin = await flexible_with_tokens(services, emulator_app, tokens=0)
    org = admin.organization_id
    path = f'/v1/organizations/{org}/tokens/grant'
    granted = await api.post(path, json={'amount': 50, 'idempotency_key': 'welcome', 'reason': 'Welcome credit'})
    assert granted.status_code == 200 and granted.json()['balance'] == 50
    assert (
        granted.json()['entry']['kind'] == 'grant'
        and granted.json()['entry']['description'] == 'Granted: Welcome credit'
    )
    repeated = await api.post(path, json={'amount': 50, 'idempotency_key': 'welcome', 'reason': 'Welcome credit'})
    assert repeated.json() == granted.json()
    assert (await api.post(path, json={'amount': 60, 'idempotency_key': 'welcome'})).status_code == 409
    for n in range(3):
        assert (await consume(api, org, f'use-{n}')).status_code == 200
    page = (await api.get(f'/v1/organizations/{org}/tokens/ledger', params={'limit': 2})).json()
    assert [entry['kind'] for entry in page['data']] == ['consumption', 'consumption'] and page['has_more']
    rest = (await api.get(f'/v1/organizations/{org}/tokens/ledger',
                          params={'starting_after': page['data'][-1]['id']})).json()  # fmt: skip
    assert [entry['kind'] for entry in rest['data']][-1] == 'grant'
    assert (await BillingAccount.get(organization_id=org)).token_balance == 50 - 3 * AMOUNT


async def test_idempotency_keys_are_per_organization_and_kept_a_day(api, services, emulator_app) -> None:
    one = await flexible_with_tokens(services, emulator_app, tokens=50)
    two = await flexible_with_tokens(services, emulator_app, tokens=50)
    assert (await consume(api, one.organization_id, 'same')).status_code == 200
    assert (await consume(api, two.organization_id, 'same')).status_code == 200  # another organization's key
    from db.models import ApiIdempotency

    assert await services.usage.forget_old_keys() == 0
    await ApiIdempotency.filter(organization_id=one.organization_id).update(
        created_at=moments.now() - timedelta(hours=25)
    )
    assert await services.usage.forget_old_keys() == 1


async def test_the_openapi_document_and_the_docs_are_served(api) -> None:
    spec = (await api.get('/v1/openapi.json', headers={'authorization': ''})).json()
    assert spec['servers'] == [{'url': '/api'}]
    operations = [operation for path in spec['paths'].values() for operation in path.values()]
    assert len(operations) == 7
    for operation in operations:
        for status, response in operation['responses'].items():
            assert response.get('content'), (operation['operationId'], status)
    schemas = spec['components']['schemas']
    assert all(schemas[name].get('examples') for name in ('OrganizationOut', 'UserOut', 'TokensOut', 'ConsumeIn',
                                                           'GrantIn', 'ErrorResponse'))  # fmt: skip
    docs = await api.get('/docs', headers={'authorization': ''})
    assert docs.status_code == 200 and '/api/static/swagger-ui-bundle.js' in docs.text
    assert (await api.get('/static/swagger-ui-bundle.js', headers={'authorization': ''})).status_code == 200


async def test_organization_records_are_untouched_by_a_read(api, services) -> None:
    admin = await create_admin()
    before = await Organization.get(id=admin.organization_id)
    await api.get(f'/v1/organizations/{admin.organization_id}')
    assert (await Organization.get(id=admin.organization_id)).updated_at == before.updated_at

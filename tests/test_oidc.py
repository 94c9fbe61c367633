"""Sign in with Portico, the protocol: Authlib's provider on the running app, driven over HTTP with the browser's
cookie of a real login; tokens verified with joserfc against the published JWKS, as a product verifies them."""

import asyncio
import json
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from nicegui import app
from nicegui.testing import User as UserSim

from db.models import OidcCode, ProductWebhook, Role
from services import oidc
from services.moments import now
from services.oidc_keys import FILE_NAME, KeyStore
from tests.helpers import PASSWORD, click, create_admin, create_member, log_in, session_of

REDIRECT = 'http://localhost:9000/callback'
AFTER_LOGOUT = 'http://localhost:9000/bye'
BACKCHANNEL = 'http://127.0.0.1:9/backchannel'  # nothing listens: the delivery stays queued, which is checked


class Product:
    """A confidential client as a product is: its id and secret, PKCE, state and nonce."""

    def __init__(self, user: UserSim, client_id: str, secret: str) -> None:
        self.user, self.client_id, self.secret = user, client_id, secret
        self.verifier = secrets.token_urlsafe(48)
        self.state, self.nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)

    @property
    def http(self) -> httpx.AsyncClient:
        return self.user.http_client

    def params(self, **changes) -> dict:
        params = {
            'response_type': 'code', 'client_id': self.client_id, 'redirect_uri': REDIRECT,
            'scope': 'openid email profile organization', 'state': self.state, 'nonce': self.nonce,
            'code_challenge': create_s256_code_challenge(self.verifier), 'code_challenge_method': 'S256',
        }  # fmt: skip
        params.update(changes)
        return {key: value for key, value in params.items() if value is not None}

    async def authorize(self, **changes) -> httpx.Response:
        return await self.http.get('/oauth/authorize', params=self.params(**changes))

    async def code(self, **changes) -> str:
        answer = await self.authorize(**changes)
        assert answer.status_code == 302, answer.text
        location = urlsplit(answer.headers['location'])
        assert f'{location.scheme}://{location.netloc}{location.path}' == REDIRECT
        query = parse_qs(location.query)
        assert query['state'] == [self.state]
        return query['code'][0]

    async def exchange(self, code: str, verifier: str | None = '', **extra) -> httpx.Response:
        form = {'grant_type': 'authorization_code', 'code': code, 'redirect_uri': REDIRECT, **extra}
        if verifier is not None:
            form['code_verifier'] = verifier or self.verifier
        return await self.http.post('/oauth/token', data=form, auth=(self.client_id, self.secret))

    async def refresh(self, refresh_token: str) -> httpx.Response:
        form = {'grant_type': 'refresh_token', 'refresh_token': refresh_token}
        return await self.http.post('/oauth/token', data=form, auth=(self.client_id, self.secret))

    async def userinfo(self, access_token: str) -> httpx.Response:
        return await self.http.get('/oauth/userinfo', headers={'Authorization': f'Bearer {access_token}'})

    async def tokens(self) -> dict:
        answer = await self.exchange(await self.code())
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def verify(self, token: str) -> dict:
        keys = KeySet.import_key_set((await self.http.get('/oauth/jwks')).json())
        decoded = jwt.decode(token, keys, ['ES256'])
        jwt.JWTClaimsRegistry(exp={'essential': True}).validate(decoded.claims)
        return decoded.claims


@pytest.fixture
async def product(user: UserSim) -> Product:
    made = await oidc.create_client(
        name='The Product', redirect_uris=[REDIRECT], post_logout_redirect_uris=[AFTER_LOGOUT],
        backchannel_logout_uri=BACKCHANNEL,
    )  # fmt: skip
    return Product(user, made.client.client_id, made.secret)


def error_of(answer: httpx.Response) -> str:
    if answer.status_code == 302:
        return parse_qs(urlsplit(answer.headers['location']).query)['error'][0]
    return answer.json()['error']


async def test_discovery_names_the_endpoints_and_what_is_supported(user: UserSim) -> None:
    document = (await user.http_client.get('/.well-known/openid-configuration')).json()
    issuer = app.state.services.settings.base_url
    assert document['issuer'] == issuer and document['jwks_uri'] == f'{issuer}/oauth/jwks'
    assert document['authorization_endpoint'] == f'{issuer}/oauth/authorize'
    assert document['end_session_endpoint'] == f'{issuer}/oauth/logout'
    assert document['code_challenge_methods_supported'] == ['S256'] and document['response_types_supported'] == ['code']
    assert document['backchannel_logout_supported'] is True
    [key] = (await user.http_client.get('/oauth/jwks')).json()['keys']
    assert key['kty'] == 'EC' and key['alg'] == 'ES256' and 'd' not in key  # the private part is never published
    keys_file = app.state.services.settings.data_dir / FILE_NAME
    assert keys_file.stat().st_mode & 0o777 == 0o600


async def test_a_user_signs_in_gets_claims_refreshes_and_a_replayed_refresh_token_revokes_the_chain(
    user: UserSim, product: Product
) -> None:
    member = await create_member(await create_admin('Signed Org'), name='Mia Member')
    not_logged_in = await product.authorize()
    assert not_logged_in.status_code == 302 and not_logged_in.headers['location'].startswith('/login?next=')
    await log_in(user, member.email, expect='You need administrative rights')
    await user.open(not_logged_in.headers['location'])  # the login page knows where the sign-in comes from
    await user.should_see('Log in to continue to The Product.')

    tokens = await product.tokens()
    assert tokens['token_type'].lower() == 'bearer' and tokens['expires_in'] == 300
    claims = await product.verify(tokens['id_token'])
    assert claims['iss'] == app.state.services.settings.base_url and claims['aud'] == product.client_id
    assert claims['nonce'] == product.nonce and claims['sub'] == str(member.id)
    assert claims['exp'] - claims['iat'] == 300 and claims['auth_time'] <= claims['iat']
    assert claims['email'] == member.email and claims['email_verified'] is False and claims['name'] == 'Mia Member'
    assert claims['org'] == {'id': member.organization_id, 'name': 'Signed Org'} and claims['role'] == 'member'
    assert claims['entitlements'] == {'plan': None, 'status': 'trial', 'is_live': True}
    access = await product.verify(tokens['access_token'])
    assert access['sub'] == str(member.id) and access['client_id'] == product.client_id

    info = (await product.userinfo(tokens['access_token'])).json()
    assert {key: info[key] for key in ('sub', 'email', 'org', 'role', 'entitlements')} == {
        key: claims[key] for key in ('sub', 'email', 'org', 'role', 'entitlements')
    }
    renewed = await product.refresh(tokens['refresh_token'])
    assert renewed.status_code == 200, renewed.text
    second = renewed.json()
    assert second['refresh_token'] != tokens['refresh_token']
    assert (await product.userinfo(second['access_token'])).status_code == 200

    replayed = await product.refresh(tokens['refresh_token'])  # the rotated one again: stolen, say
    assert replayed.status_code == 400 and error_of(replayed) == 'invalid_grant'
    assert error_of(await product.refresh(second['refresh_token'])) == 'invalid_grant'  # the whole chain is revoked
    assert (await product.userinfo(second['access_token'])).status_code == 401


async def test_a_wrong_redirect_uri_or_client_is_said_on_portico_and_never_redirected(
    user: UserSim, product: Product
) -> None:
    for changes in ({'redirect_uri': 'http://localhost:9000/callback/'}, {'redirect_uri': 'https://evil.example/cb'},
                    {'redirect_uri': None}, {'client_id': 'portico-unknown'}, {'client_id': None},
                    {'response_type': 'codeã'}):  # fmt: skip
        answer = await product.authorize(**changes)
        assert answer.status_code == 400 and 'location' not in answer.headers, changes
        assert 'This sign-in link is not valid' in answer.text


async def test_pkce_is_required_with_s256_and_the_verifier_must_match(user: UserSim, product: Product) -> None:
    admin = await create_admin('Pkce Org')
    await log_in(user, admin.email)
    for changes in ({'code_challenge': None, 'code_challenge_method': None}, {'code_challenge_method': 'plain'},
                    {'code_challenge_method': None}):  # fmt: skip
        answer = await product.authorize(**changes)
        assert answer.status_code == 302 and error_of(answer) == 'invalid_request', changes
    missing = await product.exchange(await product.code(), verifier=None)
    assert missing.status_code == 400 and error_of(missing) == 'invalid_request'
    wrong = await product.exchange(await product.code(), verifier=secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and error_of(wrong) == 'invalid_grant'
    other_redirect = await product.exchange(await product.code(), redirect_uri='http://localhost:9000/other')
    assert other_redirect.status_code == 400 and error_of(other_redirect) == 'invalid_grant'
    bad_secret = await product.http.post('/oauth/token', data={'grant_type': 'authorization_code', 'code': 'x'},
                                         auth=(product.client_id, 'wrong'))  # fmt: skip
    assert bad_secret.status_code == 401 and error_of(bad_secret) == 'invalid_client'


async def test_a_code_works_once_within_60_seconds_and_a_reuse_revokes_its_tokens(
    user: UserSim, product: Product
) -> None:
    admin = await create_admin('Code Org')
    await log_in(user, admin.email)
    code = await product.code()
    first = await product.exchange(code)
    assert first.status_code == 200
    again = await product.exchange(code)
    assert again.status_code == 400 and error_of(again) == 'invalid_grant'
    assert (await product.userinfo(first.json()['access_token'])).status_code == 401  # revoked by the reuse
    assert error_of(await product.refresh(first.json()['refresh_token'])) == 'invalid_grant'

    late = await product.code()
    await OidcCode.filter(digest=oidc.digest(late)).update(expires_at=now() - timedelta(seconds=1))  # 60 s passed
    expired = await product.exchange(late)
    assert expired.status_code == 400 and error_of(expired) == 'invalid_grant'


async def test_prompt_none_without_a_login_is_answered_to_the_product(user: UserSim, product: Product) -> None:
    answer = await product.authorize(prompt='none')
    assert answer.status_code == 302 and error_of(answer) == 'login_required'
    assert parse_qs(urlsplit(answer.headers['location']).query)['state'] == [product.state]


async def test_prompt_login_asks_for_the_password_again(user: UserSim, product: Product) -> None:
    admin = await create_admin('Prompt Org')
    await log_in(user, admin.email)
    again = await product.authorize(prompt='login')
    assert again.status_code == 302 and again.headers['location'].startswith('/login?next=')
    next_url = parse_qs(urlsplit(again.headers['location']).query)['next'][0]
    assert 'prompt' not in parse_qs(urlsplit(next_url).query)
    await log_in(user, admin.email)
    assert (await user.http_client.get(next_url)).status_code == 302  # now with a code
    answer = await user.http_client.get(next_url)
    assert 'code=' in answer.headers['location']


async def test_a_revoked_client_gets_no_tokens_and_its_tokens_stop(user: UserSim, product: Product) -> None:
    admin = await create_admin('Revoked Org')
    await log_in(user, admin.email)
    tokens = await product.tokens()
    code = await product.code()
    await oidc.revoke_client('The Product')
    refused = await product.exchange(code)
    assert refused.status_code == 401 and error_of(refused) == 'invalid_client'
    assert error_of(await product.refresh(tokens['refresh_token'])) == 'invalid_client'
    assert (await product.userinfo(tokens['access_token'])).status_code == 401
    assert (await product.authorize()).status_code == 400


async def test_disabling_a_user_revokes_their_tokens_and_queues_a_back_channel_logout(
    user: UserSim, product: Product
) -> None:
    admin = await create_admin('Disable Org')
    member = await create_member(admin)
    await log_in(user, member.email, expect='You need administrative rights')
    tokens = await product.tokens()
    services = app.state.services
    await services.users.set_enabled(session=await session_of(admin), user_id=member.id, enabled=False)
    assert error_of(await product.refresh(tokens['refresh_token'])) == 'invalid_grant'
    assert (await product.userinfo(tokens['access_token'])).status_code == 401
    [logout] = await ProductWebhook.filter(kind='backchannel_logout')
    assert logout.target == BACKCHANNEL and logout.payload == {'sub': str(member.id), 'aud': product.client_id}
    token = services.product.logout_token({**logout.payload, 'jti': logout.message_id})
    claims = await product.verify(token)
    assert claims['events'] == {'http://schemas.openid.net/event/backchannel-logout': {}}
    assert claims['sub'] == str(member.id) and claims['aud'] == product.client_id and 'nonce' not in claims
    assert (await product.authorize()).headers['location'].startswith('/login?next=')  # the portal session ended too


async def test_users_without_a_password_or_deleted_get_no_tokens(user: UserSim, product: Product) -> None:
    admin = await create_admin('Gone Org')
    member = await create_member(admin)
    await log_in(user, member.email, expect='You need administrative rights')
    code = await product.code()
    await app.state.services.users.delete(session=await session_of(admin), user_id=member.id)
    refused = await product.exchange(code)
    assert refused.status_code == 400 and error_of(refused) == 'invalid_grant'


async def test_key_rotation_keeps_old_tokens_verifiable_until_the_old_key_retires(
    user: UserSim, product: Product
) -> None:
    admin = await create_admin('Keys Org')
    await log_in(user, admin.email)
    before = await product.tokens()
    store = KeyStore(app.state.services.settings.data_dir)
    new, [old] = store.rotate()
    kids = {key['kid'] for key in (await user.http_client.get('/oauth/jwks')).json()['keys']}
    assert kids == {new.kid, old.kid}
    assert (await product.verify(before['id_token']))['sub'] == str(admin.id)  # still verifies
    after = await product.tokens()
    assert jwt.decode(after['id_token'], store.verifying()).header['kid'] == new.kid
    assert (await product.userinfo(before['access_token'])).status_code == 200

    records = json.loads(store.path.read_text())  # the retirement time comes: the old key is dropped
    for record in records['keys']:
        if record['kid'] == old.kid:
            record['retires'] = 1
    store.path.write_text(json.dumps(records))
    kids = {key['kid'] for key in (await user.http_client.get('/oauth/jwks')).json()['keys']}
    assert kids == {new.kid}
    with pytest.raises(JoseError):
        await product.verify(before['id_token'])
    assert (await product.userinfo(before['access_token'])).status_code == 401
    assert (await product.userinfo(after['access_token'])).status_code == 200


async def test_rp_initiated_logout_ends_the_portal_session_and_returns_to_the_product(
    user: UserSim, product: Product
) -> None:
    admin = await create_admin('Logout Org')
    await log_in(user, admin.email)
    tokens = await product.tokens()
    answer = await user.http_client.get('/oauth/logout', params={
        'id_token_hint': tokens['id_token'], 'post_logout_redirect_uri': AFTER_LOGOUT, 'state': 'bye1',
    })  # fmt: skip
    assert answer.status_code == 302 and answer.headers['location'] == f'{AFTER_LOGOUT}?state=bye1'
    assert (await product.authorize()).headers['location'].startswith('/login?next=')  # logged out of Portico
    unregistered = await user.http_client.get('/oauth/logout', params={
        'id_token_hint': tokens['id_token'], 'post_logout_redirect_uri': 'https://evil.example/',
    })  # fmt: skip
    assert unregistered.headers['location'] == '/login'  # never to an unregistered address


async def test_a_logout_request_without_a_token_hint_asks_first(user: UserSim, product: Product) -> None:
    admin = await create_admin('Ask Org')
    await log_in(user, admin.email)
    answer = await user.http_client.get('/oauth/logout', params={'post_logout_redirect_uri': AFTER_LOGOUT})
    assert answer.status_code == 302 and answer.headers['location'] == '/oauth/logout/confirm'
    assert (await product.authorize()).status_code == 302
    assert 'code=' in (await product.authorize()).headers['location']  # still logged in: nothing happened


@pytest.fixture
def product_url_env(portico_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('PRODUCT_URL', 'http://localhost:9000/')


async def test_a_member_refused_by_the_portal_is_shown_the_way_to_the_product(product_url_env, user: UserSim) -> None:
    member = await create_member(await create_admin('Member Org'), role=Role.MEMBER)
    await user.open('/login')
    user.find('Email').type(member.email)
    user.find('Password').type(PASSWORD)
    click(user, 'Log in')
    refusal = 'You need administrative rights to open the administration portal.'
    for _ in range(50):  # /login/complete sent the member on to PRODUCT_URL, outside this simulation; then:
        await asyncio.sleep(0.1)
        await user.open('/admin')
        try:
            await user.should_see(refusal, retries=1)
            break
        except AssertionError:
            continue  # the login's cookie has not come back yet: /admin sent the page to /login
    await user.should_see(refusal)
    await user.should_see('Go to the product')

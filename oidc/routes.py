"""Sign in with Portico: the OpenID Connect provider's endpoints on NiceGUI's app, at the paths discovery names.

The protocol is Authlib's (oidc.provider); these routes read the HTTP request, find the browser's Portico session,
and send Authlib's answers back.
"""

import html
import logging
import time
from urllib.parse import urlencode

from authlib.common.security import is_secure_transport
from authlib.oauth2 import OAuth2Error
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from nicegui import app, ui

from components.frame import frame, narrow_card
from oidc.adapters import Person
from oidc.adapters import Request as OAuthRequest
from oidc.provider import Provider
from pages import session as browser
from services import auth, oidc
from services.auth import Session
from services.container import Services
from services.errors import NotAuthenticated
from services.oidc_keys import ALGORITHM, KeyStore

log = logging.getLogger('portico.oidc')
LOGIN_AFTER = 'portico_login_after'  # added to the authorize URL that /login goes back to, for prompt=login
MAX_PARAMETER = 4000


def build_provider(services: Services) -> Provider:
    provider = Provider(issuer=services.settings.base_url, keys=KeyStore(services.settings.data_dir),
                        entitlements=services.entitlements)  # fmt: skip
    services.product.logout_token = provider.logout_token
    return provider


def discovery(issuer: str) -> dict:
    return {
        'issuer': issuer,
        'authorization_endpoint': f'{issuer}/oauth/authorize',
        'token_endpoint': f'{issuer}/oauth/token',
        'userinfo_endpoint': f'{issuer}/oauth/userinfo',
        'jwks_uri': f'{issuer}/oauth/jwks',
        'revocation_endpoint': f'{issuer}/oauth/revoke',
        'end_session_endpoint': f'{issuer}/oauth/logout',
        'scopes_supported': list(oidc.SCOPES),
        'response_types_supported': ['code'],
        'response_modes_supported': ['query'],
        'grant_types_supported': ['authorization_code', 'refresh_token'],
        'subject_types_supported': ['public'],
        'id_token_signing_alg_values_supported': [ALGORITHM],
        'token_endpoint_auth_methods_supported': ['client_secret_basic', 'client_secret_post'],
        'revocation_endpoint_auth_methods_supported': ['client_secret_basic', 'client_secret_post'],
        'code_challenge_methods_supported': ['S256'],
        'prompt_values_supported': ['none', 'login'],
        'claims_supported': [
            'sub',
            'iss',
            'aud',
            'exp',
            'iat',
            'auth_time',
            'nonce',
            'at_hash',
            'email',
            'email_verified',
            'name',
            'org',
            'role',
            'entitlements',
        ],  # fmt: skip
        'claims_parameter_supported': False,
        'request_parameter_supported': False,
        'request_uri_parameter_supported': False,
        'backchannel_logout_supported': True,
        'backchannel_logout_session_supported': False,
    }


def _oauth_request(request: Request, issuer: str, form: list | None = None) -> OAuthRequest:
    """The request as Authlib reads it, at its public address (BASE_URL: behind a proxy, not the proxy's)."""
    query = [(key, value) for key, value in request.query_params.multi_items() if len(value) <= MAX_PARAMETER]
    uri = f'{issuer}{request.url.path}' + (f'?{request.url.query}' if request.url.query else '')
    return OAuthRequest(method=request.method, uri=uri, headers=request.headers, query=query, form=form or [])


async def _form(request: Request) -> list[tuple[str, str]]:
    if not request.headers.get('content-type', '').startswith('application/x-www-form-urlencoded'):
        return []
    try:
        form = await request.form()
    except Exception:  # a body that is no form: as if it were empty, and Authlib says what is missing
        return []
    return [(key, value) for key, value in form.multi_items() if isinstance(value, str)]


def _answer(status: int, body, headers: list) -> Response:
    headers = dict(headers)
    if 'Location' in headers or status in (302, 303):
        return RedirectResponse(headers.pop('Location'), status_code=302, headers=headers)
    headers.setdefault('Cache-Control', 'no-store')
    return JSONResponse(body if body != '' else {}, status_code=status, headers=headers)


def _problem(title: str, detail: str, status: int = 400) -> HTMLResponse:
    """A sign-in that cannot go back to the product (unknown client, unregistered redirect URI): said here."""
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f'<body><main><h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p></main></body></html>')  # fmt: skip
    return HTMLResponse(page, status_code=status)


async def _login_of(request: Request) -> tuple[Person | None, int]:
    try:
        login = await auth.load_login(Session.from_cookie(request.session))
    except NotAuthenticated:
        return None, 0
    auth_time = int(login.created_at.timestamp())  # load_login checked that the user is enabled
    return (Person(login.user, auth_time) if login.user.password_hash else None), auth_time


def _needs_fresh_login(request: Request, auth_time: int) -> bool:
    """prompt=login, or a max_age that the login is older than; the login that /login made meanwhile counts."""
    params = request.query_params
    after = params.get(LOGIN_AFTER, '')
    if after.isdigit() and auth_time >= int(after):
        return False
    max_age = params.get('max_age', '')
    too_old = max_age.isdigit() and time.time() - auth_time > int(max_age)
    return 'login' in params.get('prompt', '').split() or too_old


def _login_url(request: Request) -> str:
    kept = [(key, value) for key, value in request.query_params.multi_items() if key not in ('prompt', LOGIN_AFTER)]
    kept.append((LOGIN_AFTER, str(int(time.time()))))
    return '/login?' + urlencode({'next': f'{browser.AUTHORIZE}?{urlencode(kept)}'})


def register(services: Services) -> Provider | None:
    issuer = services.settings.base_url
    if not is_secure_transport(issuer):
        log.warning('Sign in with Portico is off: it needs BASE_URL on https (or on localhost), not %s', issuer)
        return None
    provider = build_provider(services)

    @app.get('/.well-known/openid-configuration', include_in_schema=False)
    def openid_configuration() -> JSONResponse:
        return JSONResponse(discovery(issuer))

    @app.get('/oauth/jwks', include_in_schema=False)
    def jwks() -> JSONResponse:
        return JSONResponse(provider.keys.public(), headers={'Cache-Control': 'max-age=60'})

    @app.get('/oauth/authorize', include_in_schema=False)
    async def authorize(request: Request) -> Response:
        person, auth_time = await _login_of(request)
        if person is not None and _needs_fresh_login(request, auth_time):
            person = None  # with prompt=none, Authlib answers login_required to the product
        oauth = _oauth_request(request, issuer)
        try:
            grant = await provider.call(provider.get_consent_grant, oauth, person)
        except OAuth2Error as error:
            if error.redirect_uri:  # checked against the client's list: the product hears of it
                return _answer(*provider.handle_error_response(oauth, error))
            return _problem('This sign-in link is not valid', f'{error.error}: {error.description or ""}'.strip())
        except ValueError:  # Authlib refuses to word an error about some characters (a response_type of 'ã', say)
            return _problem('This sign-in link is not valid', 'invalid_request')
        if person is None:
            if auth_time and not _needs_fresh_login(request, auth_time):  # logged in, but may not sign in
                return _problem('You cannot sign in to the product', 'Your account cannot sign in to the product. '
                                'Ask an administrator of your organization.', status=403)  # fmt: skip
            return RedirectResponse(_login_url(request), status_code=302)
        return _answer(*await provider.call(provider.create_authorization_response, oauth, person, grant))

    @app.post('/oauth/token', include_in_schema=False)
    async def token(request: Request) -> Response:
        oauth = _oauth_request(request, issuer, await _form(request))
        return await _guarded(provider.create_token_response, oauth)

    @app.post('/oauth/revoke', include_in_schema=False)
    async def revoke(request: Request) -> Response:
        oauth = _oauth_request(request, issuer, await _form(request))
        return await _guarded(provider.create_endpoint_response, 'revocation', oauth)

    async def _guarded(method, *args) -> Response:
        try:
            return _answer(*await provider.call(method, *args))
        except ValueError:  # Authlib refuses to word an error about some characters
            return JSONResponse({'error': 'invalid_request'}, status_code=400, headers={'Cache-Control': 'no-store'})

    @app.api_route('/oauth/userinfo', methods=['GET', 'POST'], include_in_schema=False)
    async def userinfo(request: Request) -> Response:
        scheme, _, value = request.headers.get('authorization', '').partition(' ')
        refused = JSONResponse({'error': 'invalid_token'}, status_code=401,
                               headers={'WWW-Authenticate': 'Bearer error="invalid_token"'})  # fmt: skip
        if scheme.lower() != 'bearer' or not value:
            return refused
        try:
            decoded = jwt.decode(value.strip(), provider.keys.verifying(), [ALGORITHM])
            jwt.JWTClaimsRegistry(iss={'essential': True, 'value': issuer}, exp={'essential': True}).validate(
                decoded.claims
            )
        except (JoseError, ValueError):
            return refused
        record = await oidc.live_access(value.strip())
        user = await oidc.signable_user(record.user_id) if record else None
        if user is None:
            return refused
        return JSONResponse(await provider.claims_of(user, record.scope), headers={'Cache-Control': 'no-store'})

    @app.api_route('/oauth/logout', methods=['GET', 'POST'], include_in_schema=False)
    async def logout(request: Request) -> Response:
        form = await _form(request) if request.method == 'POST' else []
        oauth = _oauth_request(request, issuer, form)
        try:
            ending = await provider.call(provider.validate_endpoint_request, 'end_session', oauth)
        except OAuth2Error as error:
            return _problem('This logout link is not valid', error.description or error.error)
        except ValueError:
            return _problem('This logout link is not valid', 'invalid_request')
        session = Session.from_cookie(request.session)
        confirmed = request.method == 'POST' and dict(form).get('csrf') == browser.logout_token(session)
        hinted = ending.id_token_claims is not None and session is not None and \
            str(session.user_id) == str(ending.id_token_claims.get('sub'))  # fmt: skip
        if session is not None and not (hinted or confirmed):
            return RedirectResponse('/oauth/logout/confirm', status_code=302)  # no proof it is the user: ask
        if session is not None:
            await browser.end_browser_session(services, request)
        answer = await provider.call(provider.create_endpoint_response, 'end_session', ending)
        return _answer(*answer) if answer else RedirectResponse('/login', status_code=302)

    @ui.page('/oauth/logout/confirm')
    def confirm_logout() -> None:
        with frame('Log out', test_mode=services.settings.offline_billing), narrow_card('Log out of Portico?'):
            ui.label('A product asked to log you out of Portico.').classes('text-grey-8')
            with ui.element('form').props('method=post action=/oauth/logout'):
                ui.element('input').props(
                    f'type=hidden name=csrf value={browser.logout_token(browser.current_session())}'
                )
                ui.button('Log out', color='primary').props('type=submit')
            ui.link('Stay logged in', '/admin')

    return provider

"""An example product that Portico administers: its users sign in with Portico (OpenID Connect, through Authlib's
Starlette client), it asks Portico whether an organization may use it, spends one token per report, hears
Portico's webhooks, and ends a user's session when Portico sends a Back-Channel Logout.
Run: python examples/product/app.py (settings below).

- PORTICO_URL: where Portico runs, e.g. http://127.0.0.1:8080
- PORTICO_API_KEY: a key from `python main.py api-key create --name my-product`
- PORTICO_WEBHOOK_SECRET: Portico's DATA_DIR/product-webhook-secret (or its PRODUCT_WEBHOOK_SECRET)
- PORTICO_CLIENT_ID, PORTICO_CLIENT_SECRET: from `python main.py oidc-client create --name my-product
  --redirect-uri http://127.0.0.1:8090/auth/callback --backchannel-logout-uri http://127.0.0.1:8090/auth/backchannel-logout
  --post-logout-redirect-uri http://127.0.0.1:8090/`
- PORT: where this product listens (default 8090)
"""

import html
import os
import secrets
import time

import httpx
import uvicorn
from authlib.integrations.starlette_client import OAuth, OAuthError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Route

PORTICO = os.environ.get('PORTICO_URL', 'http://127.0.0.1:8080').rstrip('/')
API_KEY = os.environ.get('PORTICO_API_KEY', '')
WEBHOOKS = Webhook(os.environ['PORTICO_WEBHOOK_SECRET']) if os.environ.get('PORTICO_WEBHOOK_SECRET') else None
TOKENS_PER_REPORT = 1
heard: dict[str, dict] = {}  # Portico's events by webhook-id: a repeat of one is recognized, not applied twice
CLIENT_ID = os.environ.get('PORTICO_CLIENT_ID', '')
LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'
oauth = OAuth()
oauth.register(
    'portico', client_id=CLIENT_ID, client_secret=os.environ.get('PORTICO_CLIENT_SECRET', ''),
    server_metadata_url=f'{PORTICO}/.well-known/openid-configuration',
    client_kwargs={'scope': 'openid email profile organization', 'code_challenge_method': 'S256'},
)  # fmt: skip
# Signed-in sessions, kept here (the cookie holds only their id), so that a back-channel logout can end them.
sessions: dict[str, dict] = {}
logouts: list[dict] = []  # the back-channel logouts heard, for GET /auth/logouts


def portico() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f'{PORTICO}/api/v1', headers={'authorization': f'Bearer {API_KEY}'}, timeout=10)


async def render_report(request: Request) -> JSONResponse:
    """GET /organizations/{id}/reports/{report}: render a report, if the organization is live and can pay for it."""
    organization, report = request.path_params['organization'], request.path_params['report']
    async with portico() as client:
        entitlements = (await client.get(f'/organizations/{organization}')).json()
        if not entitlements.get('is_live'):
            return JSONResponse({'error': f'organization {organization} is not live'}, status_code=403)
        spent = await client.post(
            f'/organizations/{organization}/tokens/consume',
            json={
                'amount': TOKENS_PER_REPORT,
                'idempotency_key': f'report-{report}',
                'description': f'Report {report}',
            },
        )  # the report's id is the key: asking twice for the same report spends one token
    if spent.status_code == 402:
        return JSONResponse({'error': 'out of tokens', 'balance': spent.json()['error']['balance']}, status_code=402)
    spent.raise_for_status()
    return JSONResponse(
        {'report': report, 'plan': (entitlements['plan'] or {}).get('name'), 'tokens_left': spent.json()['balance']}
    )


async def portico_webhook(request: Request) -> JSONResponse:
    """POST /webhooks/portico: Portico's events, verified with the Standard Webhooks library."""
    body = await request.body()
    try:
        event = WEBHOOKS.verify(body, dict(request.headers))
    except (WebhookVerificationError, AttributeError):
        return JSONResponse({'error': 'bad signature'}, status_code=400)
    heard.setdefault(request.headers['webhook-id'], event)
    return JSONResponse({'ok': True})


async def events(request: Request) -> JSONResponse:
    """GET /events: what this product heard, oldest first."""
    return JSONResponse(
        [{'webhook_id': key, 'type': event['type'], 'data': event['data']} for key, event in heard.items()]
    )


def signed_in(request: Request) -> dict | None:
    return sessions.get(request.session.get('sid', ''))


async def home(request: Request) -> HTMLResponse:
    """GET /: who is signed in, their organization and plan; or the way to sign in."""
    current = signed_in(request)
    if current is None:
        body = '<h1>Example product</h1><p>You are not signed in.</p><a href="/login">Sign in with Portico</a>'
    else:
        user = current['user']
        plan = ((user.get('entitlements') or {}).get('plan') or {}).get('name') or 'no plan (trial)'
        refreshed = f'<p>Tokens refreshed at {current["refreshed"]}.</p>' if current.get('refreshed') else ''
        body = (
            f'<h1>Example product</h1><p>Signed in as <b id="name">{html.escape(user.get("name", ""))}</b> '
            f'(<span id="email">{html.escape(user.get("email", ""))}</span>), {html.escape(user.get("role", ""))} '
            f'of <span id="org">{html.escape(user["org"]["name"])}</span>, plan <span id="plan">'
            f'{html.escape(plan)}</span>.</p>{refreshed}'
            '<form method="post" action="/refresh"><button>Refresh session</button></form>'
            '<form method="post" action="/logout"><button>Sign out</button></form>'
        )  # fmt: skip
    return HTMLResponse(f'<!doctype html><html lang="en"><head><title>Example product</title></head><body>'
                        f'<main>{body}</main></body></html>')  # fmt: skip


async def login(request: Request):
    """GET /login: to Portico's sign-in (Authlib sends state, nonce and a PKCE S256 challenge)."""
    return await oauth.portico.authorize_redirect(request, str(request.url_for('callback')))


async def callback(request: Request):
    """GET /auth/callback: the code for tokens; the ID token's claims say who this is."""
    try:
        token = await oauth.portico.authorize_access_token(request)
    except OAuthError as error:
        return HTMLResponse(f'<p>Sign-in failed: {html.escape(error.error)}</p>', status_code=400)
    sid = secrets.token_urlsafe(24)
    sessions[sid] = {'user': dict(token['userinfo']), 'token': token}
    request.session['sid'] = sid
    return RedirectResponse('/', status_code=303)


async def refresh(request: Request):
    """POST /refresh: new tokens with the refresh token (which Portico rotates); a refusal ends the session."""
    current = signed_in(request)
    if current is None:
        return RedirectResponse('/', status_code=303)
    metadata = await oauth.portico.load_server_metadata()
    async with oauth.portico._get_oauth_client() as client:
        try:
            current['token'] = await client.refresh_token(metadata['token_endpoint'],
                                                          refresh_token=current['token']['refresh_token'])  # fmt: skip
        except OAuthError:
            sessions.pop(request.session.pop('sid', ''), None)
            return RedirectResponse('/', status_code=303)
    current['refreshed'] = time.strftime('%H:%M:%S')
    return RedirectResponse('/', status_code=303)


async def logout(request: Request):
    """POST /logout: out of the product, and out of Portico (RP-initiated logout, back to this product's home)."""
    current = sessions.pop(request.session.pop('sid', ''), None)
    if current is None:
        return RedirectResponse('/', status_code=303)
    metadata = await oauth.portico.load_server_metadata()
    query = httpx.QueryParams({'id_token_hint': current['token']['id_token'],
                               'post_logout_redirect_uri': str(request.url_for('home'))})  # fmt: skip
    return RedirectResponse(f'{metadata["end_session_endpoint"]}?{query}', status_code=303)


async def backchannel_logout(request: Request) -> JSONResponse:
    """POST /auth/backchannel-logout: Portico ended a user's sessions (disabled, deleted, new password); so do we.
    The logout token is checked as OpenID Connect Back-Channel Logout 1.0 §2.6 says."""
    form = await request.form()
    metadata = await oauth.portico.load_server_metadata()
    async with httpx.AsyncClient() as client:
        keys = KeySet.import_key_set((await client.get(metadata['jwks_uri'])).json())
    try:
        decoded = jwt.decode(str(form.get('logout_token', '')), keys, ['ES256'])
        expected = jwt.JWTClaimsRegistry(
            iss={'essential': True, 'value': metadata['issuer']}, aud={'essential': True, 'value': CLIENT_ID},
            iat={'essential': True}, sub={'essential': True},
        )  # fmt: skip
        expected.validate(decoded.claims)
    except (JoseError, ValueError):
        return JSONResponse({'error': 'invalid_request'}, status_code=400)
    claims = decoded.claims
    if LOGOUT_EVENT not in (claims.get('events') or {}) or 'nonce' in claims:
        return JSONResponse({'error': 'invalid_request'}, status_code=400)
    ended = [sid for sid, current in sessions.items() if current['user']['sub'] == claims['sub']]
    for sid in ended:
        del sessions[sid]
    logouts.append({'sub': claims['sub'], 'jti': claims.get('jti'), 'sessions_ended': len(ended)})
    return JSONResponse({}, headers={'Cache-Control': 'no-store'})


async def heard_logouts(request: Request) -> JSONResponse:
    """GET /auth/logouts: the back-channel logouts this product heard."""
    return JSONResponse(logouts)


app = Starlette(
    routes=[
        Route('/', home, name='home'),
        Route('/login', login),
        Route('/auth/callback', callback, name='callback'),
        Route('/refresh', refresh, methods=['POST']),
        Route('/logout', logout, methods=['POST']),
        Route('/auth/backchannel-logout', backchannel_logout, methods=['POST']),
        Route('/auth/logouts', heard_logouts),
        Route('/organizations/{organization:int}/reports/{report}', render_report),
        Route('/webhooks/portico', portico_webhook, methods=['POST']),
        Route('/events', events),
    ],
    middleware=[
        Middleware(
            SessionMiddleware,
            secret_key=os.environ.get('PRODUCT_SESSION_SECRET') or secrets.token_hex(32),
            session_cookie='product_session',
        )
    ],  # fmt: skip
)

if __name__ == '__main__':
    uvicorn.run(app, host='127.0.0.1', port=int(os.environ.get('PORT', '8090')), log_level='warning')

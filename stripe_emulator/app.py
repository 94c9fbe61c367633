"""The ASGI application: authentication, decoding, idempotency and error mapping around the handlers."""

import base64
import binascii
import hashlib
import hmac
import json
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from . import forms
from .bodies import BodyRefused, read_body
from .config import API_VERSION, EmulatorConfig
from .emulator import Emulator
from .errors import StripeError
from .expand import expand
from .hosted import routes as hosted_routes
from .ids import new_id
from .params import check_known, expand_paths
from .render import render
from .resources import ROUTES
from .router import Router
from .store import IdempotencyRecord

_router = Router(ROUTES)
log = logging.getLogger(__name__)
# Far more than any request the SDK sends; a body beyond it is refused before it is read whole.
MAX_API_BODY_BYTES = 1024 * 1024


def create_app(config: EmulatorConfig) -> Starlette:
    """The emulator as a Starlette app; its state is at `app.state.emulator` (see `Emulator`)."""
    app = Starlette(
        routes=[
            StarletteRoute('/v1/{path:path}', _api, methods=['GET', 'POST', 'DELETE']),
            *hosted_routes(),
        ]
    )
    app.state.emulator = Emulator(config)
    return app


async def _api(request: Request) -> Response:
    emulator: Emulator = request.app.state.emulator
    request_id = new_id('req')
    headers = {'Request-Id': request_id, 'Stripe-Version': API_VERSION}
    idempotency_key = request.headers.get('idempotency-key') if request.method == 'POST' else None
    path, params = _api_path(request), {}
    try:
        _authenticate(request, emulator.api_key)
        raw = request.url.query
        if request.method == 'POST':
            body = await _body(request)
            raw = f'{raw}&{body}' if raw and body else raw or body
        params = forms.decode(raw)
        matched = _router.match(request.method, path)
        if matched is None:
            raise StripeError(
                f'Unrecognized request URL ({request.method}: {path}). Please see https://stripe.com/docs '
                'or we can help at https://support.stripe.com/.',
                status=404,
            )
        route, path_args = matched
        if idempotency_key and (replayed := _replay(emulator, idempotency_key, request.method, path, params)):
            return replayed
        check_known(params, route.spec_type, extra=route.extra_params)
        ctx = emulator.context(request_id=request_id, idempotency_key=idempotency_key)
        with emulator.store.transaction():
            status, content = _execute(ctx, route.handler, params, path_args)
            if idempotency_key and status in (200, 402):
                _remember(emulator, idempotency_key, request.method, path, params, status, content, request_id)
    except StripeError as error:
        status, content = error.status, _json(error.body())
        if error.stored and idempotency_key:
            with emulator.store.transaction():
                _remember(emulator, idempotency_key, request.method, path, params, status, content, request_id)
    except Exception:
        # A bug in the emulator: answer like Stripe's own 500s, and ask the SDK not to retry what will fail again.
        log.exception('stripe emulator failed on %s %s', request.method, path)
        status = 500
        content = _json({'error': {'type': 'api_error', 'message': 'The Stripe emulator failed; see its log.'}})
        headers['Stripe-Should-Retry'] = 'false'
    if idempotency_key:
        headers['Idempotency-Key'] = idempotency_key
    return Response(content, status_code=status, headers=headers, media_type='application/json')


def _execute(ctx, handler, params: dict, path_args: dict) -> tuple[int, str]:
    """Run a handler inside the caller's transaction; most errors roll it back, see `StripeError.commit`."""
    try:
        result = handler(ctx, params, **path_args)
    except StripeError as error:
        if not error.commit:
            raise
        return error.status, _json(error.body())
    return 200, _json(expand(ctx, render(ctx, result), expand_paths(params)))


def _api_path(request: Request) -> str:
    # Mounted apps see the full path with `root_path` set; strip the mount prefix to get `/v1/...`.
    path = request.url.path
    root = request.scope.get('root_path', '')
    return path[len(root) :] if root and path.startswith(root) else path


async def _body(request: Request) -> str:
    try:
        body = await read_body(request, MAX_API_BODY_BYTES)
    except BodyRefused as refused:
        raise StripeError(refused.message, status=refused.status) from None
    try:
        return body.decode('utf-8')
    except UnicodeDecodeError:
        raise StripeError(
            'Invalid request: the body must be form-encoded UTF-8 (application/x-www-form-urlencoded).'
        ) from None


def _credentials(authorization: str) -> str:
    scheme, _, credentials = authorization.strip().partition(' ')
    credentials = credentials.strip()
    if scheme.lower() == 'basic':  # Stripe also accepts the key as the basic-auth user name
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):  # not base64: as if no key was given
            return ''
        return decoded.decode(errors='replace').split(':')[0]
    return credentials if scheme.lower() == 'bearer' else ''


def _authenticate(request: Request, api_key: str) -> None:
    credentials = _credentials(request.headers.get('authorization', ''))
    if not credentials:
        raise StripeError(
            'You did not provide an API key. You need to provide your API key in the Authorization header, '
            "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            status=401,
        )
    if not hmac.compare_digest(credentials.encode('utf-8', 'surrogatepass'), api_key.encode()):
        masked = f'{credentials[:8]}{"*" * max(len(credentials) - 12, 0)}{credentials[-4:]}'
        raise StripeError(f'Invalid API Key provided: {masked}', status=401)


def _fingerprint(method: str, path: str, params: dict) -> str:
    canonical = json.dumps([method, path, params], sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(emulator: Emulator, key: str, method: str, path: str, params: dict) -> Response | None:
    record = emulator.store.idempotency_get(key)
    if record is None:
        return None
    if record.params != _fingerprint(method, path, params):
        raise StripeError(
            'Keys for idempotent requests can only be used with the same parameters they were first used with. '
            f"Try using a key other than '{key}' if you meant to execute a different request.",
            type='idempotency_error',
        )
    headers = {
        'Request-Id': new_id('req'),
        'Stripe-Version': API_VERSION,
        'Idempotency-Key': key,
        'Idempotent-Replayed': 'true',
        'Original-Request': record.request_id,
    }
    return Response(record.body, status_code=record.status, headers=headers, media_type='application/json')


def _remember(emulator, key, method, path, params, status, content, request_id) -> None:
    record = IdempotencyRecord(method, path, _fingerprint(method, path, params), status, content, request_id)
    emulator.store.idempotency_put(key, record)


def _json(obj: dict) -> str:
    return json.dumps(obj, separators=(',', ':'))

"""The product API: FastAPI routes, mounted on NiceGUI's app at /api.

- `/api/v1/…`: the endpoints (api/routes.py), authenticated with `Authorization: Bearer pk_…` (api/keys.py);
- `/api/v1/openapi.json`: their OpenAPI document; `/api/docs`: the interactive docs, served from this machine.

Errors have Stripe's shape: `{"error": {"type": …, "code": …, "message": …}}`.
"""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from swagger_ui_bundle import swagger_ui_path

from api import routes
from api.keys import ApiError
from services.container import Services

log = logging.getLogger('portico.api')
MOUNT_PATH = '/api'


def create_api(services: Services) -> FastAPI:
    api = FastAPI(
        title='Portico product API',
        version='1',
        openapi_url='/v1/openapi.json',
        docs_url=None,
        redoc_url=None,
        description='What Portico manages, for the product it administers: entitlements, users and tokens. '
        'Authenticate with `Authorization: Bearer pk_…` (`python main.py api-key create --name NAME`).',
    )
    api.state.services = services
    api.include_router(routes.router)
    api.mount('/static', StaticFiles(directory=str(swagger_ui_path)), name='swagger')

    @api.get('/docs', include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get('root_path', '')
        return get_swagger_ui_html(
            openapi_url=f'{root}/v1/openapi.json',
            title='Portico product API',
            swagger_js_url=f'{root}/static/swagger-ui-bundle.js',
            swagger_css_url=f'{root}/static/swagger-ui.css',
            swagger_favicon_url=f'{root}/static/favicon-32x32.png',
        )

    api.add_exception_handler(ApiError, _api_error)
    api.add_exception_handler(RequestValidationError, _invalid_request)
    api.add_exception_handler(HTTPException, _http_error)
    api.add_exception_handler(Exception, _unexpected)
    return api


def register(services: Services) -> None:
    from nicegui import app

    app.mount(MOUNT_PATH, create_api(services))


def error(http_status: int, error_type: str, code: str, message: str, **extra) -> JSONResponse:
    body = {'type': error_type, 'code': code, 'message': message, **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse({'error': body}, status_code=http_status)


async def _api_error(request: Request, failure: ApiError) -> JSONResponse:
    return error(failure.status, failure.type, failure.code, failure.message, **failure.extra)


_PLAIN_WORDS = {'string_pattern_mismatch': 'must not hold control characters'}  # the one pattern is schemas.PLAIN


async def _invalid_request(request: Request, failure: RequestValidationError) -> JSONResponse:
    first = failure.errors()[0] if failure.errors() else {}
    where = '.'.join(str(part) for part in first.get('loc', ())[1:]) or None
    return error(
        400,
        'invalid_request_error',
        'parameter_invalid',
        f'{where or "The request"}: {_PLAIN_WORDS.get(first.get("type"), first.get("msg", "is not valid"))}.',
        param=where,
    )


async def _http_error(request: Request, failure: HTTPException) -> JSONResponse:
    code = {404: 'resource_missing', 405: 'method_not_allowed'}.get(failure.status_code, 'invalid_request')
    return error(failure.status_code, 'invalid_request_error', code, str(failure.detail))


async def _unexpected(request: Request, failure: Exception) -> JSONResponse:
    log.exception('product API failed on %s %s', request.method, request.url.path)
    return error(500, 'api_error', 'internal_error', 'Portico failed on this request; see its log.')

"""Authentication of the product API: `Authorization: Bearer pk_…`, a key made with `python main.py api-key`."""

import logging

from fastapi import Request
from fastapi.security import HTTPBearer

from db.models import ApiKey
from services import api_keys

log = logging.getLogger('portico.api')
# Only for the OpenAPI document (the security scheme); the check itself is `api_key` below.
bearer = HTTPBearer(auto_error=False, description='A Portico API key: `pk_live_…`, or `pk_test_…` offline')


class ApiError(Exception):
    """An answer of the API other than success, in Stripe's error shape."""

    def __init__(self, http_status: int, error_type: str, code: str, message: str, **extra) -> None:
        super().__init__(message)
        self.status, self.type, self.code, self.message, self.extra = http_status, error_type, code, message, extra


async def api_key(request: Request) -> ApiKey:
    """The key the request carries, or 401; refusals are logged without the key."""
    scheme, _, secret = request.headers.get('authorization', '').partition(' ')
    key = await api_keys.verify(secret.strip()) if scheme.lower() == 'bearer' else None
    if key is None:
        reason = 'no key' if not secret else 'a wrong or revoked key'
        client = request.client.host if request.client else '?'
        log.warning('product API refused %s %s from %s: %s', request.method, request.url.path, client, reason)
        raise ApiError(
            401,
            'authentication_error',
            'invalid_api_key',
            'Provide a valid API key: Authorization: Bearer pk_… (python main.py api-key create).',
        )
    return key

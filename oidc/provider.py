"""Authlib's authorization server, wired to Portico's records (services.oidc, through oidc.adapters) and keys
(services.oidc_keys).

Authlib is synchronous: each protocol call runs in a worker thread (`Provider.call`), and every read or write it
asks for runs as a coroutine on the server's event loop (`_wait`), each one atomic by itself (the code's claim, the
refresh token's rotation). Authlib does the protocol; this module only answers its questions.
"""

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint
from joserfc import jwt

from db.models import User
from oidc.adapters import AUTH_METHODS, Client, Code, Person, Request, Token
from services import oidc
from services.entitlements import EntitlementsReader
from services.oidc_keys import ALGORITHM, TOKEN_LIFETIME_SECONDS, KeyStore

T = TypeVar('T')
LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'


class Provider(AuthorizationServer):
    def __init__(self, *, issuer: str, keys: KeyStore, entitlements: EntitlementsReader) -> None:
        super().__init__(scopes_supported=list(oidc.SCOPES))
        self.issuer, self.keys, self.entitlements = issuer, keys, entitlements
        self.loop: asyncio.AbstractEventLoop | None = None
        provider = self
        generator = AccessTokens(issuer=issuer, alg=ALGORITHM, refresh_token_generator=lambda **_: generate_token(48),
                                 expires_generator=lambda *_, **__: TOKEN_LIFETIME_SECONDS)  # fmt: skip
        generator.provider = provider
        self.register_token_generator('default', generator)
        self.register_grant(CodeGrant, [S256Only(required=True), IdTokens(provider)])
        self.register_grant(RefreshGrant)
        self.register_endpoint(Revocation(self))
        self.register_endpoint(EndSession(self))

    # Authlib's questions, answered on the event loop
    def _wait(self, awaitable: Awaitable[T]) -> T:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(awaitable, self.loop).result(timeout=30)

    async def call(self, method: Callable[..., Any], *args, **kwargs) -> Any:
        """Run one of Authlib's calls in a worker thread; its database work comes back to this loop."""
        self.loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await asyncio.to_thread(context.run, method, *args, **kwargs)

    def query_client(self, client_id: str) -> Client | None:
        record = self._wait(oidc.active_client(client_id))
        return Client(record) if record else None

    def save_token(self, token: dict, request: OAuth2Request) -> None:
        client: Client = request.client
        person: Person = request.user
        if request.authorization_code is not None:
            code: Code = request.authorization_code
            self._wait(oidc.save_tokens(token=token, client=client.record, user_id=person.user.id,
                                        scope=token.get('scope', ''), family=None, auth_time=code.record.auth_time,
                                        code=code.record))  # fmt: skip
        else:
            old: Token = request.refresh_token
            self._wait(oidc.save_tokens(token=token, client=client.record, user_id=person.user.id,
                                        scope=token.get('scope', ''), family=old.record.family,
                                        auth_time=old.record.auth_time))  # fmt: skip

    def create_oauth2_request(self, request: Request) -> Request:
        return request

    def create_json_request(self, request: Request) -> Request:
        return request

    def handle_response(self, status: int, body, headers) -> tuple[int, Any, list]:
        return status, body, list(headers or [])

    def send_signal(self, name: str, *args, **kwargs) -> None:
        pass

    def person(self, user_id: int, auth_time: int = 0) -> Person | None:
        user = self._wait(oidc.signable_user(user_id))
        return Person(user, auth_time) if user else None

    def user_claims(self, user: User, scope: str) -> dict:
        return self._wait(self.claims_of(user, scope))

    async def claims_of(self, user: User, scope: str) -> dict:
        found = await self.entitlements.of(user.organization) if 'organization' in scope.split() else None
        return oidc.claims(user, scope, found)

    def sign(self, claims: dict, *, typ: str = 'JWT') -> str:
        keys = self.keys.signing()
        kid = keys.keys[0].kid
        return jwt.encode({'alg': ALGORITHM, 'kid': kid, 'typ': typ}, claims, keys, [ALGORITHM])

    def logout_token(self, delivery: dict) -> str:
        """A Back-Channel Logout token (OpenID Connect Back-Channel Logout 1.0, §2.4), signed now."""
        moment = int(time.time())
        claims = {
            'iss': self.issuer, 'aud': delivery['aud'], 'iat': moment, 'exp': moment + 120, 'jti': delivery['jti'],
            'sub': delivery['sub'], 'events': {LOGOUT_EVENT: {}},
        }  # fmt: skip
        return self.sign(claims, typ='logout+jwt')


class AccessTokens(JWTBearerTokenGenerator):
    """RFC 9068 JWT access tokens, 5 minutes, signed with the current key."""

    provider: Provider

    def get_jwks(self):
        return self.provider.keys.signing()

    def get_audiences(self, client, user, scope):
        return client.get_client_id()

    def get_auth_time(self, user):
        return user.auth_time or None if user else None


class S256Only(CodeChallenge):
    """PKCE for every client, and only S256 (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ['S256']
    DEFAULT_CODE_CHALLENGE_METHOD = 'S256'

    def validate_code_challenge(self, grant, redirect_uri):
        if grant.request.payload.data.get('code_challenge_method') != 'S256':
            raise InvalidRequestError("'code_challenge_method' must be S256.", redirect_uri=redirect_uri)
        return super().validate_code_challenge(grant, redirect_uri)


class IdTokens(OpenIDCode):
    """ID tokens for the code flow: ES256, 5 minutes, with the claims of the scopes granted."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def resolve_client_private_key(self, client):
        return self.provider.keys.signing()

    def get_client_algorithm(self, client) -> str:
        return ALGORITHM

    def get_encode_header(self, client) -> dict:
        return {'alg': ALGORITHM, 'kid': self.provider.keys.signing().keys[0].kid}

    def get_client_claims(self, client) -> dict:
        moment = int(time.time())
        return {'iss': self.provider.issuer, 'aud': client.get_client_id(), 'iat': moment,
                'exp': moment + TOKEN_LIFETIME_SECONDS}  # fmt: skip

    def exists_nonce(self, nonce, request) -> bool:
        return False  # codes are single use and short; a replayed nonce cannot yield a second ID token

    def generate_user_info(self, user: Person, scope: str) -> dict:
        return self.provider.user_claims(user.user, scope)


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    provider: Provider

    def save_authorization_code(self, code: str, request: Request) -> None:
        data = request.payload.data
        person: Person = request.user
        self.server._wait(oidc.save_code(
            code=code, client=request.client.record, user_id=person.user.id, redirect_uri=data.get('redirect_uri'),
            scope=request.scope or '', nonce=data.get('nonce') or '', challenge=data.get('code_challenge'),
            method=data.get('code_challenge_method'), auth_time=person.auth_time,
        ))  # fmt: skip

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        record = self.server._wait(oidc.claim_code(code, client.record))
        return Code(record) if record else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        pass  # claimed already, by query_authorization_code

    def authenticate_user(self, authorization_code: Code) -> Person | None:
        return self.server.person(authorization_code.record.user_id, authorization_code.record.auth_time)


class RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        record = self.server._wait(oidc.rotate_refresh(refresh_token))
        return Token(record) if record else None

    def authenticate_user(self, refresh_token: Token) -> Person | None:
        return self.server.person(refresh_token.record.user_id, refresh_token.record.auth_time)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        pass  # rotated already, by authenticate_refresh_token


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        record = self.server._wait(oidc.find_token(token_string))
        return Token(record) if record else None

    def revoke_token(self, token: Token, request) -> None:
        self.server._wait(oidc.revoke_family(token.record.family))


class EndSession(EndSessionEndpoint):
    """RP-initiated logout: with a valid `id_token_hint`, back to a registered post-logout URI; the route ends the
    browser's Portico session (oidc.routes), which Authlib cannot reach."""

    def get_server_jwks(self):
        return self.server.keys.verifying()

    def get_algorithms(self) -> list[str]:
        return [ALGORITHM]

    def end_session(self, end_session_request) -> None:
        pass

"""Portico's records as Authlib's models see them: a request already read by Starlette, the client, the user, the
authorization code and the token (Authlib's ClientMixin, AuthorizationCodeMixin and TokenMixin)."""

from collections import defaultdict

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import OAuth2Payload

from db.models import OidcClient, OidcCode, OidcToken, User
from services import oidc
from services.oidc_keys import TOKEN_LIFETIME_SECONDS

AUTH_METHODS = ['client_secret_basic', 'client_secret_post']


class Payload(OAuth2Payload):
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self):
        return self._data

    @property
    def datalist(self):
        return self._datalist


class Request(OAuth2Request):
    """A request already read by Starlette: its query and its form, as Authlib reads them."""

    def __init__(self, *, method: str, uri: str, headers: dict, query: list, form: list) -> None:
        super().__init__(method, uri, headers=headers)
        self._args, self._form = dict(query), dict(form)
        self.payload = Payload([*query, *form])

    @property
    def args(self):
        return self._args

    @property
    def form(self):
        return self._form


class Client:
    """An OidcClient as Authlib's ClientMixin: confidential, code and refresh only, redirect URIs matched exactly."""

    def __init__(self, record: OidcClient) -> None:
        self.record = record

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # the redirect_uri is required: none is guessed

    def get_allowed_scope(self, scope: str) -> str:
        return ' '.join(part for part in (scope or '').split() if part in oidc.SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.record.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return oidc.secret_matches(self.record, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == 'code'

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ('authorization_code', 'refresh_token')

    @property
    def client_metadata(self) -> dict:
        return {'post_logout_redirect_uris': self.record.post_logout_redirect_uris}


class Person:
    def __init__(self, user: User, auth_time: int = 0) -> None:
        self.user, self.auth_time = user, auth_time

    def get_user_id(self) -> int:
        return self.user.id


class Code:
    def __init__(self, record: OidcCode) -> None:
        self.record = record
        self.code_challenge = record.code_challenge
        self.code_challenge_method = record.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    def get_nonce(self) -> str | None:
        return self.record.nonce or None

    def get_auth_time(self) -> int:
        return self.record.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ['pwd']


class Token:
    def __init__(self, record: OidcToken) -> None:
        self.record = record

    def check_client(self, client: Client) -> bool:
        return self.record.client_id == client.record.id

    def get_scope(self) -> str:
        return self.record.scope

    def get_expires_in(self) -> int:
        return TOKEN_LIFETIME_SECONDS

    def is_expired(self) -> bool:
        return False  # rotate_refresh found it unexpired

    def is_revoked(self) -> bool:
        return self.record.revoked_at is not None

    def get_user(self):
        return None

    def get_client(self):
        return None

"""Sign in with Portico, the records behind it: clients, authorization codes, tokens, and the end of a user's
sessions in the product. The protocol itself is Authlib's (oidc/); each function here is one atomic step of it.

- A code is claimed once, by a conditional update, within 60 s; presenting it again revokes what it was exchanged for.
- A refresh token is rotated by a conditional update; presenting a rotated one revokes its whole family.
- Disabling, deleting or a new password (services.users, services.passwords) revoke the user's tokens in the
  transaction of that change, and queue a Back-Channel Logout for each client that signed them in.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db.models import OidcClient, OidcCode, OidcToken, ProductWebhook, User
from services import audit
from services.api_keys import OPERATOR
from services.errors import PermissionDenied, ValidationFailed
from services.moments import now
from services.validation import clean_name

if TYPE_CHECKING:
    from services.entitlements import Entitlements

CODE_LIFETIME = timedelta(seconds=60)
ACCESS_LIFETIME = timedelta(minutes=5)
REFRESH_LIFETIME = timedelta(days=30)
SCOPES = ('openid', 'email', 'profile', 'organization')
BACKCHANNEL_LOGOUT = 'backchannel_logout'


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class NewClient:
    client: OidcClient
    secret: str  # shown once


def _uri(value: str, errors: dict[str, str], field: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ('http', 'https') or not parts.hostname or parts.fragment:
        errors[field] = f'{value!r} is not an absolute http(s) URL without a fragment.'
    elif parts.scheme == 'http' and parts.hostname not in ('localhost', '127.0.0.1', '::1'):
        errors[field] = f'{value!r}: use https (plain http only for localhost).'
    return value.strip()


async def create_client(
    *, name: str, redirect_uris: list[str], post_logout_redirect_uris: list[str] | None = None,
    backchannel_logout_uri: str = '',
) -> NewClient:  # fmt: skip
    errors: dict[str, str] = {}
    name = clean_name(name, errors, 'name', label='Name')
    if not redirect_uris:
        errors['redirect_uri'] = 'Give at least one --redirect-uri.'
    redirects = [_uri(uri, errors, 'redirect_uri') for uri in redirect_uris]
    after_logout = [_uri(uri, errors, 'post_logout_redirect_uri') for uri in post_logout_redirect_uris or []]
    backchannel = _uri(backchannel_logout_uri, errors, 'backchannel_logout_uri') if backchannel_logout_uri else ''
    if errors:
        raise ValidationFailed(errors)
    secret = secrets.token_urlsafe(32)
    try:
        client = await OidcClient.create(
            client_id=f'portico-{secrets.token_urlsafe(12)}', name=name, secret_digest=digest(secret),
            redirect_uris=redirects, post_logout_redirect_uris=after_logout, backchannel_logout_uri=backchannel,
        )  # fmt: skip
    except IntegrityError:
        raise ValidationFailed({'name': f'A client named {name!r} exists already.'}) from None
    await _audit('oidc_client.created', client)
    return NewClient(client=client, secret=secret)


async def listed() -> list[OidcClient]:
    return await OidcClient.all().order_by('created_at', 'id')


async def revoke_client(name_or_id: str) -> OidcClient:
    """The client signs no one in any more, and every token it holds is revoked."""
    client = await OidcClient.get_or_none(name=name_or_id) or await OidcClient.get_or_none(client_id=name_or_id)
    if client is None:
        raise ValidationFailed({'name': f'No client is named {name_or_id!r} or has that id.'})
    if client.revoked_at is not None:
        raise PermissionDenied(f'The client {client.name} was revoked already.')
    async with in_transaction():
        client.revoked_at = now()
        await client.save(update_fields=['revoked_at'])
        await OidcToken.filter(client_id=client.id, revoked_at=None).update(revoked_at=now())
        await _audit('oidc_client.revoked', client)
    return client


async def _audit(action: str, client: OidcClient) -> None:
    await audit.record_system(
        organization_id=None, action=action, target_type='oidc_client',
        target_label=f'{client.name} ({client.client_id})', actor_name=OPERATOR,
        after={'redirect_uris': client.redirect_uris, 'backchannel_logout_uri': client.backchannel_logout_uri},
    )  # fmt: skip


async def active_client(client_id: str | None) -> OidcClient | None:
    if not client_id or len(client_id) > 64:
        return None
    return await OidcClient.get_or_none(client_id=client_id, revoked_at=None)


def secret_matches(client: OidcClient, secret: str | None) -> bool:
    return bool(secret) and hmac.compare_digest(client.secret_digest, digest(secret))


async def signable_user(user_id: int) -> User | None:
    """The user, if they may get tokens: enabled, with a password (disabled, deleted and passwordless may not)."""
    user = await User.get_or_none(id=user_id).select_related('organization')
    if user is None or not user.is_enabled or not user.password_hash:
        return None
    return user


async def save_code(
    *, code: str, client: OidcClient, user_id: int, redirect_uri: str, scope: str, nonce: str, challenge: str,
    method: str, auth_time: int,
) -> None:  # fmt: skip
    await OidcCode.create(
        digest=digest(code), client_id=client.id, user_id=user_id, redirect_uri=redirect_uri, scope=scope,
        nonce=nonce or '', code_challenge=challenge, code_challenge_method=method, auth_time=auth_time,
        expires_at=now() + CODE_LIFETIME,
    )  # fmt: skip


async def claim_code(code: str, client: OidcClient) -> OidcCode | None:
    """The code, claimed now; None if unknown, another client's, expired or used. A second use revokes the tokens
    the first one got (RFC 6749 §4.1.2)."""
    key = digest(code or '')
    claimed = await OidcCode.filter(
        digest=key, client_id=client.id, used_at=None, expires_at__gt=now()
    ).update(used_at=now())  # fmt: skip
    record = await OidcCode.get_or_none(digest=key)
    if not claimed:
        if record is not None and record.used_at is not None and record.family:
            await revoke_family(record.family)
        return None
    return record


async def save_tokens(
    *, token: dict, client: OidcClient, user_id: int, scope: str, family: str | None, auth_time: int,
    code: OidcCode | None = None,
) -> str:  # fmt: skip
    """Keep the digests of a new access and refresh token; the family (a new one for a code)."""
    family = family or secrets.token_urlsafe(24)
    moment = now()
    async with in_transaction():
        await OidcToken.create(
            family=family, client_id=client.id, user_id=user_id, scope=scope,
            access_digest=digest(token['access_token']),
            refresh_digest=digest(token['refresh_token']) if token.get('refresh_token') else None,
            issued_at=moment, access_expires_at=moment + ACCESS_LIFETIME,
            refresh_expires_at=moment + REFRESH_LIFETIME, auth_time=auth_time,
        )  # fmt: skip
        if code is not None:
            await OidcCode.filter(id=code.id).update(family=family)
    return family


async def rotate_refresh(refresh_token: str) -> OidcToken | None:
    """The live token row of this refresh token, now rotated (it works once); None otherwise. A rotated one
    presented again is a replay: the whole family is revoked."""
    key = digest(refresh_token or '')
    moment = now()
    rotated = await OidcToken.filter(
        refresh_digest=key, rotated_at=None, revoked_at=None, refresh_expires_at__gt=moment
    ).update(rotated_at=moment)  # fmt: skip
    record = await OidcToken.get_or_none(refresh_digest=key).select_related('client')
    if not rotated:
        if record is not None and record.rotated_at is not None:
            await revoke_family(record.family)
        return None
    if record.client.revoked_at is not None:
        return None
    return record


async def revoke_family(family: str) -> int:
    return await OidcToken.filter(family=family, revoked_at=None).update(revoked_at=now())


async def find_token(value: str) -> OidcToken | None:
    """The row of an access or refresh token, whatever its state."""
    key = digest(value or '')
    found = await OidcToken.get_or_none(access_digest=key).select_related('client')
    return found or await OidcToken.get_or_none(refresh_digest=key).select_related('client')


async def live_access(access_token: str) -> OidcToken | None:
    """The row of an access token that is unexpired and unrevoked, of an active client."""
    found = await OidcToken.get_or_none(access_digest=digest(access_token or '')).select_related('client')
    if found is None or found.revoked_at is not None or found.access_expires_at <= now():
        return None
    return None if found.client.revoked_at is not None else found


async def end_product_sessions(user: User) -> None:
    """In the transaction that ends the user's portal sessions: revoke their tokens, and queue a Back-Channel
    Logout for every client with a back-channel address that holds (or held) a token of theirs. After the commit,
    `product_webhooks.nudge()` sends them at once (else the worker's next poll does, within 5 s)."""
    await OidcToken.filter(user_id=user.id, revoked_at=None).update(revoked_at=now())
    client_ids = await OidcToken.filter(user_id=user.id).distinct().values_list('client_id', flat=True)
    if not client_ids:
        return
    clients = await OidcClient.filter(id__in=list(client_ids), revoked_at=None).exclude(backchannel_logout_uri='')
    for client in clients:
        await ProductWebhook.create(
            message_id=f'logout_{secrets.token_urlsafe(18)}', organization_id=user.organization_id,
            organization_key=user.organization_id, type='user.logout', kind=BACKCHANNEL_LOGOUT,
            target=client.backchannel_logout_uri, payload={'sub': str(user.id), 'aud': client.client_id},
            next_attempt_at=now(),
        )  # fmt: skip


def claims(user: User, scope: str, entitlements: 'Entitlements | None') -> dict:
    """The claims of a user for the scopes granted: standard ones, and Portico's `org`, `role`, `entitlements`."""
    scopes = set(scope.split())
    found = {'sub': str(user.id)}
    if 'email' in scopes:
        found.update(email=user.email, email_verified=user.email_verified_at is not None)
    if 'profile' in scopes:
        found['name'] = user.name
    if 'organization' in scopes:
        found['org'] = {'id': user.organization_id, 'name': user.organization.name}
        found['role'] = user.role.value
        if entitlements is not None:
            plan = entitlements.plan
            found['entitlements'] = {
                'plan': {'id': plan.id, 'name': plan.name} if plan else None,
                'status': entitlements.status,
                'is_live': entitlements.is_live,
            }
    return found


async def client_name_in(authorize_url: str) -> str:
    """The name of the active client whose sign-in this /oauth/authorize URL is, or ''."""
    client_id = (parse_qs(urlsplit(authorize_url).query).get('client_id') or [''])[0] if authorize_url else ''
    client = await active_client(client_id)
    return client.name if client else ''

"""Server-side keys of the product API: `pk_live_…`, or `pk_test_…` while billing is offline.

A key is shown once, when it is made; Portico keeps its SHA-256 and a prefix that names it. A key sees every
organization of this Portico. Making and revoking keys enter the audit log.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from db.models import ApiKey
from services import audit
from services.errors import PermissionDenied, ValidationFailed
from services.moments import now
from services.validation import clean_name

OPERATOR = 'Operator (command line)'
PREFIX_LENGTH = 16  # "pk_test_" or "pk_live_" and 8 characters of the key: enough to tell keys apart in a list


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # the whole key, shown once


async def create(*, name: str, live: bool) -> NewKey:
    errors: dict[str, str] = {}
    name = clean_name(name, errors, 'name', label='Name')
    if errors:
        raise ValidationFailed(errors)
    secret = f'pk_{"live" if live else "test"}_{secrets.token_urlsafe(32)}'
    try:
        key = await ApiKey.create(name=name, prefix=secret[:PREFIX_LENGTH], digest=_digest(secret))
    except IntegrityError:
        raise ValidationFailed({'name': f'A key named {name!r} exists already.'}) from None
    await _audit('api_key.created', key)
    return NewKey(key=key, secret=secret)


async def listed() -> list[ApiKey]:
    return await ApiKey.all().order_by('created_at', 'id')


async def revoke(name_or_prefix: str) -> ApiKey:
    key = await ApiKey.get_or_none(name=name_or_prefix) or await ApiKey.get_or_none(prefix=name_or_prefix)
    if key is None:
        raise ValidationFailed({'name': f'No key is named {name_or_prefix!r} or starts with it.'})
    if key.revoked_at is not None:
        raise PermissionDenied(f'The key {key.name} was revoked already.')
    key.revoked_at = now()
    await key.save(update_fields=['revoked_at'])
    await _audit('api_key.revoked', key)
    return key


async def verify(secret: str) -> ApiKey | None:
    """The live key this secret is, or None; compared in constant time, and its use recorded."""
    if not secret.startswith(('pk_live_', 'pk_test_')) or len(secret) < PREFIX_LENGTH:
        return None
    key = await ApiKey.get_or_none(prefix=secret[:PREFIX_LENGTH], revoked_at=None)
    if key is None or not hmac.compare_digest(key.digest, _digest(secret)):
        return None
    moment = now()
    if key.last_used_at is None or (moment - key.last_used_at).total_seconds() > 60:  # not one write per request
        await ApiKey.filter(id=key.id).update(last_used_at=moment)
    return key


async def _audit(action: str, key: ApiKey) -> None:
    label = f'{key.name} ({key.prefix}…)'
    await audit.record_system(
        organization_id=None, action=action, target_type='api_key', target_label=label, actor_name=OPERATOR
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()

"""Passwords and the links that set them: hashing (argon2, a core at a time), single-use set-password tokens kept
only as digests, the reset a visitor asks for, and the link an operator makes at the shell.

A new link retires the user's older links only once it has been handed over (mailed, or shown to the admin who
asked), so a request that fails or is refused never voids a link that still waits to be used.
"""

import asyncio
import hashlib
import logging
import os
import secrets
from datetime import datetime, timedelta
from functools import cache

from passlib.context import CryptContext
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db.models import LoginThrottle, Organization, PasswordToken, RateHit, User
from services import audit, oidc
from services.errors import PermissionDenied, ValidationFailed
from services.locks import at_most, one_at_a_time
from services.mail import Mailer, password_mail
from services.moments import now
from services.product_webhooks import nudge
from services.validation import check_password, clean_email

RESET_LINK_TTL = timedelta(hours=24)
INVITE_LINK_TTL = timedelta(hours=72)
MAX_RESETS_PER_EMAIL = 3
MAX_RESETS_PER_ADDRESS = 20
RESET_WINDOW = timedelta(hours=1)
# Password hashes run at most this many at once: a flood of logins must leave a core to the pages.
HASHING_SLOTS = os.cpu_count() or 1

log = logging.getLogger('portico.auth')
_passwords = CryptContext(schemes=['argon2'], deprecated='auto')


async def hash_password(password: str) -> str:
    # argon2 costs ~100 ms of CPU and releases the GIL: run it in a thread so other clients keep being served.
    async with at_most(HASHING_SLOTS, 'password hashing'):
        return await asyncio.to_thread(_passwords.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    # Unknown users are checked against a dummy hash, so the answer takes as long whether or not the email exists.
    async with at_most(HASHING_SLOTS, 'password hashing'):
        return await asyncio.to_thread(_passwords.verify, password, password_hash or _dummy_hash())


@cache
def _dummy_hash() -> str:
    return _passwords.hash(secrets.token_urlsafe(16))


async def issue_password_token(user: User, *, purpose: str, ttl: timedelta) -> str:
    """A fresh single-use token for `user`. Older ones keep working until `retire_older_tokens` once it is sent."""
    token = secrets.token_urlsafe(32)
    await PasswordToken.create(user_id=user.id, token_hash=digest(token), purpose=purpose, expires_at=now() + ttl)
    return token


async def retire_older_tokens(user_id: int, *, keep: str) -> None:
    """The link `keep` was handed over: every other unused link of the user stops working."""
    await PasswordToken.filter(user_id=user_id, used_at=None).exclude(token_hash=digest(keep)).update(used_at=now())


async def withdraw_token(token: str) -> None:
    """A link that could not be handed over (the mail failed) never works."""
    await PasswordToken.filter(token_hash=digest(token)).delete()


async def hand_over_link(user: User, token: str, send) -> None:
    """Send a new link with `send()`; only once that worked do the user's older links stop working."""
    try:
        await send()
    except BaseException:
        await withdraw_token(token)
        raise
    await retire_older_tokens(user.id, keep=token)


def check_reset_request(email: str) -> str:
    """The address of a reset request, or ValidationFailed for a malformed one (which tells nothing of accounts)."""
    errors: dict[str, str] = {}
    key = clean_email(email, errors, 'email')
    if errors:
        raise ValidationFailed(errors)
    return key


async def send_reset_link(*, email: str, client_address: str, mailer: Mailer, base_url: str) -> None:
    """Mail a reset link if the address belongs to an enabled user, within the limits; meant to run in the
    background after the visitor has had the same answer either way.

    Without SMTP the outbox notes the request but no link is made: nobody could receive it, and it must not
    void a link that an admin has handed over. The operator makes one with `python main.py password-link`.
    """
    async with one_at_a_time('reset', email):
        if not await within_limit('reset-email', email, MAX_RESETS_PER_EMAIL, RESET_WINDOW):
            log.warning('password reset refused: %s asked %s times within an hour', email, MAX_RESETS_PER_EMAIL)
            return
        if client_address and not await within_limit(
            'reset-address', client_address, MAX_RESETS_PER_ADDRESS, RESET_WINDOW
        ):
            log.warning('password reset refused: %s asked %s times within an hour', client_address,
                        MAX_RESETS_PER_ADDRESS)  # fmt: skip
            return
        await RateHit.create(scope='reset-email', key=email, at=now())
        if client_address:
            await RateHit.create(scope='reset-address', key=client_address, at=now())
    user = await User.get_or_none(email=email, is_enabled=True).select_related('organization')
    if user is None:
        return
    organization: Organization = user.organization
    token = await issue_password_token(user, purpose='reset', ttl=RESET_LINK_TTL) if mailer.sends else ''
    mail = password_mail(recipient=user.email, name=user.name, organization=organization.name,
                         link=f'{base_url}/set-password/{token}')  # fmt: skip
    if not token:
        await mailer.send(mail)
        return
    await hand_over_link(user, token, lambda: mailer.send(mail))


async def operator_link(*, email: str, base_url: str) -> str:
    """`python main.py password-link EMAIL`: a fresh link for an enabled user, for an operator without SMTP."""
    errors: dict[str, str] = {}
    key = clean_email(email, errors, 'email')
    user = await User.get_or_none(email=key).select_related('organization') if not errors else None
    if user is None:
        raise ValidationFailed({'email': f'No user has the email {email!r}.'})
    if not user.is_enabled:
        raise PermissionDenied(f'{user.email} is disabled. An admin must enable them first.')
    invited = user.password_hash is None
    token = await issue_password_token(
        user, purpose='invite' if invited else 'reset', ttl=INVITE_LINK_TTL if invited else RESET_LINK_TTL
    )
    await retire_older_tokens(user.id, keep=token)
    await audit.record_system(
        organization_id=user.organization_id, action='user.password_link_made', target_type='user',
        target_label=user.email, actor_name='Operator (command line)',
    )  # fmt: skip
    return f'{base_url}/set-password/{token}'


async def valid_token(token: str) -> PasswordToken | None:
    record = await PasswordToken.get_or_none(token_hash=digest(token or '')).select_related('user')
    if record is None or record.used_at is not None or record.expires_at <= now() or not record.user.is_enabled:
        return None
    return record


async def set_password_with_token(*, token: str, password: str, confirm: str) -> User:
    errors: dict[str, str] = {}
    check_password(password, errors, 'password')
    if 'password' not in errors and password != confirm:
        errors['confirm'] = 'The two passwords do not match.'
    if errors:
        raise ValidationFailed(errors)
    password_hash = await hash_password(password)
    async with in_transaction():
        # The conditional update makes the token single-use even when two requests race.
        claimed = await PasswordToken.filter(token_hash=digest(token), used_at=None, expires_at__gt=now()).update(
            used_at=now()
        )
        record = await PasswordToken.get_or_none(token_hash=digest(token)).select_related('user')
        if not claimed or record is None or not record.user.is_enabled:
            raise ValidationFailed({'token': 'This link is invalid or has expired. Ask for a new one.'})
        # The link came to this address (an email change voids the links), so the address is the user's.
        await User.filter(id=record.user_id).update(
            password_hash=password_hash, session_epoch=F('session_epoch') + 1, email_verified_at=now()
        )
        await oidc.end_product_sessions(record.user)
        await PasswordToken.filter(user_id=record.user_id, used_at=None).update(used_at=now())
        await LoginThrottle.filter(email=record.user.email).delete()
    nudge()  # after the commit: its back-channel logouts go at once
    return await User.get(id=record.user_id)


async def within_limit(scope: str, key: str, limit: int, window: timedelta) -> bool:
    """Whether fewer than `limit` hits of `key` were counted within `window`."""
    return await RateHit.filter(scope=scope, key=key, at__gt=now() - window).count() < limit


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def invitations_pending(users: list[User]) -> dict[int, datetime]:
    """For the users who never set a password: when their newest unused link expires (one query for a page)."""
    pending = [user.id for user in users if not user.password_hash]
    expiries: dict[int, datetime] = {}
    if pending:
        for user_id, expires_at in await PasswordToken.filter(user_id__in=pending, used_at=None).values_list(
            'user_id', 'expires_at'
        ):
            expiries[user_id] = max(expires_at, expiries.get(user_id, expires_at))
    return {user_id: expiries.get(user_id) for user_id in pending}

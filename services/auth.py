"""Logins, sessions and password links.

A session holds only the user id and the session epoch it was opened with. Every page and every action reloads the
user, so bumping the epoch (disable, delete, password change) ends every session of that user at its next step.
"""

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from passlib.context import CryptContext
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db.models import LoginThrottle, Organization, PasswordToken, User
from services.errors import NotAuthenticated, PermissionDenied, RateLimited, ValidationFailed
from services.locks import one_at_a_time
from services.mail import Mailer, link_mail
from services.validation import check_password, clean_email

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
RESET_LINK_TTL = timedelta(hours=24)
INVITE_LINK_TTL = timedelta(hours=72)
LOGIN_FAILED = 'Wrong email or password.'
LOCKED_OUT = 'Too many failed logins for this email. Try again in 15 minutes.'

_passwords = CryptContext(schemes=['argon2'], deprecated='auto')


@dataclass(frozen=True)
class Session:
    user_id: int
    epoch: int

    def to_storage(self) -> dict:
        return {'user_id': self.user_id, 'epoch': self.epoch}

    @classmethod
    def from_storage(cls, storage) -> 'Session | None':
        user_id, epoch = storage.get('user_id'), storage.get('epoch')
        if not isinstance(user_id, int) or not isinstance(epoch, int):
            return None
        return cls(user_id=user_id, epoch=epoch)


def now() -> datetime:
    return datetime.now(UTC)


async def hash_password(password: str) -> str:
    # argon2 costs ~100 ms of CPU and releases the GIL: run it in a thread so other clients keep being served.
    return await asyncio.to_thread(_passwords.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    # Unknown users are checked against a dummy hash, so the answer takes as long whether or not the email exists.
    return await asyncio.to_thread(_passwords.verify, password, password_hash or _dummy_hash())


@cache
def _dummy_hash() -> str:
    return _passwords.hash(secrets.token_urlsafe(16))


async def authenticate(*, email: str, password: str) -> Session:
    """Check a login; raise ValidationFailed with one message for any wrong email or password."""
    key = (email or '').strip().lower()
    # One check at a time per email: parallel guesses each see the failures before them, so none slips past the
    # limit, while parallel correct logins (one admin, several tabs) all succeed, one ~100 ms check after another.
    async with one_at_a_time('login', key):
        throttle = await LoginThrottle.get_or_none(email=key)
        if throttle and throttle.locked_until and throttle.locked_until > now():
            raise RateLimited(LOCKED_OUT)
        user = await User.get_or_none(email=key) if key else None
        valid = await verify_password(password or '', user.password_hash if user else None)
        if not (valid and user and user.password_hash):
            await _record_failure(key)
            raise ValidationFailed({'password': LOGIN_FAILED})
        await LoginThrottle.filter(email=key).delete()  # a right password clears the count
    if not user.is_enabled:
        raise ValidationFailed({'password': 'This account is disabled. Ask an administrator of your organization.'})
    await User.filter(id=user.id).update(last_login_at=now())
    return Session(user_id=user.id, epoch=user.session_epoch)


async def _record_failure(email: str) -> None:
    """Count a failed login. The count runs while failures keep coming, and starts again only after LOCKOUT
    without one (`window_start` holds the latest), so any MAX_FAILED_LOGINS failures within LOCKOUT of each other
    lock the email."""
    for _ in range(2):  # two first failures at once (two processes) may both create the row; the loser retries
        try:
            async with in_transaction():
                throttle = await LoginThrottle.filter(email=email).select_for_update().first()
                moment = now()
                if throttle is None:
                    await LoginThrottle.create(email=email, failures=1, window_start=moment)
                    return
                if throttle.locked_until or moment - throttle.window_start > LOCKOUT:
                    throttle.failures, throttle.locked_until = 0, None  # the lock or the run of failures is over
                throttle.failures += 1
                throttle.window_start = moment
                if throttle.failures >= MAX_FAILED_LOGINS:
                    throttle.locked_until = moment + LOCKOUT
                await throttle.save()
                return
        except IntegrityError:
            continue


async def load_user(session: Session | None) -> User:
    """The session's user, re-read now; NotAuthenticated when the session has ended."""
    if session is None:
        raise NotAuthenticated('Please log in.')
    user = await User.get_or_none(id=session.user_id).select_related('organization')
    if user is None or user.session_epoch != session.epoch or not user.is_enabled:
        raise NotAuthenticated('Your session has ended. Please log in again.')
    return user


async def require_admin(session: Session | None, *, organization_id: int | None = None) -> User:
    """The caller, if still an enabled admin (of `organization_id` when given); raises otherwise."""
    user = await load_user(session)
    if not user.is_admin:
        raise PermissionDenied('You need administrative rights to open the administration portal.')
    if organization_id is not None and user.organization_id != organization_id:
        raise PermissionDenied('You can only manage your own organization.')
    return user


async def issue_password_token(user: User, *, purpose: str, ttl: timedelta) -> str:
    """A fresh single-use token for `user`; older unused ones stop working."""
    token = secrets.token_urlsafe(32)
    async with in_transaction():
        await PasswordToken.filter(user_id=user.id, used_at=None).update(used_at=now())
        await PasswordToken.create(user_id=user.id, token_hash=_digest(token), purpose=purpose, expires_at=now() + ttl)
    return token


async def request_password_reset(*, email: str, mailer: Mailer, base_url: str) -> None:
    """Mail a reset link if the address belongs to an enabled user; the caller's answer never tells which."""
    errors: dict[str, str] = {}
    key = clean_email(email, errors, 'email')
    if errors:
        raise ValidationFailed(errors)
    user = await User.get_or_none(email=key, is_enabled=True).select_related('organization')
    if user is None:
        return
    token = await issue_password_token(user, purpose='reset', ttl=RESET_LINK_TTL)
    organization: Organization = user.organization
    await mailer.send(
        link_mail(
            recipient=user.email,
            subject=f'Reset your Portico password for {organization.name}',
            organization=organization.name,
            lines=[
                f'Hello {user.name},',
                f'someone asked to reset your password for {organization.name}. '
                'If it was not you, ignore this message. The link works once, for 24 hours.',
            ],
            link=f'{base_url}/set-password/{token}',
            action='Set a new password',
        )
    )


async def valid_token(token: str) -> PasswordToken | None:
    record = await PasswordToken.get_or_none(token_hash=_digest(token or '')).select_related('user')
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
        claimed = await PasswordToken.filter(token_hash=_digest(token), used_at=None, expires_at__gt=now()).update(
            used_at=now()
        )
        record = await PasswordToken.get_or_none(token_hash=_digest(token)).select_related('user')
        if not claimed or record is None or not record.user.is_enabled:
            raise ValidationFailed({'token': 'This link is invalid or has expired. Ask for a new one.'})
        await User.filter(id=record.user_id).update(password_hash=password_hash, session_epoch=F('session_epoch') + 1)
        await LoginThrottle.filter(email=record.user.email).delete()
    return await User.get(id=record.user_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

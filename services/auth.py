"""Logins, sessions and password links.

A session is a row of `sessions`, found by the SHA-256 of a random key that only the browser's signed cookie
holds. The cookie also names the user and the session epoch it was opened with. Every page and every action
reloads the session and its user, so ending the row (log out, idle, too old) or bumping the epoch (disable,
delete, password change) ends it at its next step.
"""

import asyncio
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from passlib.context import CryptContext
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from db.models import LoginSession, LoginThrottle, Organization, PasswordToken, RateHit, User
from services import audit
from services.errors import NotAuthenticated, PermissionDenied, RateLimited, ValidationFailed
from services.locks import at_most, one_at_a_time
from services.mail import Mailer, link_mail
from services.validation import check_password, clean_email

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MAX_FAILED_LOGINS_PER_ADDRESS = 30
RESET_LINK_TTL = timedelta(hours=24)
INVITE_LINK_TTL = timedelta(hours=72)
MAX_RESETS_PER_EMAIL = 3
MAX_RESETS_PER_ADDRESS = 20
RESET_WINDOW = timedelta(hours=1)
SESSION_IDLE = timedelta(hours=12)
SESSION_MAX_AGE = timedelta(days=14)
LOGIN_TICKET_TTL = timedelta(seconds=60)
# A request moves a session's idle deadline on only when it is at least this old: not one write per click.
TOUCH_EVERY = timedelta(minutes=1)
LOGIN_FAILED = 'Wrong email or password.'
LOCKED_OUT = 'Too many failed logins for this email. Try again in 15 minutes.'
ADDRESS_LOCKED_OUT = 'Too many failed logins from your network. Try again in 15 minutes.'
SESSION_ENDED = 'Your session has ended. Please log in again.'
# Password hashes run at most this many at once: a flood of logins must leave a core to the pages.
HASHING_SLOTS = os.cpu_count() or 1

log = logging.getLogger('portico.auth')
_passwords = CryptContext(schemes=['argon2'], deprecated='auto')


@dataclass(frozen=True)
class Session:
    user_id: int
    epoch: int
    key: str

    @property
    def digest(self) -> str:
        """Names this session in the database and in change events, without the key itself."""
        return _digest(self.key)

    def to_cookie(self) -> dict:
        return {'user_id': self.user_id, 'epoch': self.epoch, 'key': self.key}

    @classmethod
    def from_cookie(cls, cookie) -> 'Session | None':
        user_id, epoch, key = cookie.get('user_id'), cookie.get('epoch'), cookie.get('key')
        if not isinstance(user_id, int) or not isinstance(epoch, int) or not isinstance(key, str) or not key:
            return None
        return cls(user_id=user_id, epoch=epoch, key=key)


def now() -> datetime:
    return datetime.now(UTC)


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


async def authenticate(*, email: str, password: str, client_address: str = '') -> User:
    """Check a login and return the user; raise ValidationFailed with one message for any wrong email or password.

    Failures count per email (5 lock it) and per client address (30 lock it, whatever the emails), both for
    LOCKOUT. The address's count is taken before the password is checked and given back when it was right, so
    a flood of parallel guesses from one address cannot all pass the limit while the first ones are hashed.
    """
    key = (email or '').strip().lower()
    address_hit = await _take_address_attempt(client_address)
    try:
        # One check at a time per email: parallel guesses each see the failures before them, so none slips past
        # the limit, while parallel correct logins (one admin, several tabs) all succeed, one after another.
        async with one_at_a_time('login', key):
            throttle = await LoginThrottle.get_or_none(email=key)
            if throttle and throttle.locked_until and throttle.locked_until > now():
                raise RateLimited(LOCKED_OUT)
            user = await User.get_or_none(email=key) if key else None
            valid = await verify_password(password or '', user.password_hash if user else None)
            if not (valid and user and user.password_hash):
                await _record_failure(key)
                address_hit = None  # it stays counted
                raise ValidationFailed({'password': LOGIN_FAILED})
            await LoginThrottle.filter(email=key).delete()  # a right password clears the count
    finally:
        if address_hit is not None:
            await RateHit.filter(id=address_hit).delete()
    if not user.is_enabled:
        raise ValidationFailed({'password': 'This account is disabled. Ask an administrator of your organization.'})
    await User.filter(id=user.id).update(last_login_at=now())
    return user


async def _take_address_attempt(client_address: str) -> int | None:
    if not client_address:
        return None
    async with one_at_a_time('login-address', client_address):
        if not await _within_limit('login-address', client_address, MAX_FAILED_LOGINS_PER_ADDRESS, LOCKOUT):
            log.warning('login refused: %s failed logins from %s within 15 minutes', MAX_FAILED_LOGINS_PER_ADDRESS,
                        client_address)  # fmt: skip
            raise RateLimited(ADDRESS_LOCKED_OUT)
        return (await RateHit.create(scope='login-address', key=client_address, at=now())).id


async def _within_limit(scope: str, key: str, limit: int, window: timedelta) -> bool:
    return await RateHit.filter(scope=scope, key=key, at__gt=now() - window).count() < limit


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


async def prune_throttles() -> int:
    """Remove the counts whose window is over: failed-login runs, address hits and reset requests."""
    moment = now()
    over = Q(window_start__lt=moment - LOCKOUT) & (Q(locked_until=None) | Q(locked_until__lte=moment))
    removed = await LoginThrottle.filter(over).delete()
    removed += await RateHit.filter(at__lt=moment - max(LOCKOUT, RESET_WINDOW)).delete()
    kept_after_end = moment - timedelta(days=1)
    removed += await LoginSession.filter(Q(idle_until__lt=kept_after_end) | Q(expires_at__lt=kept_after_end)).delete()
    return removed


async def begin_login(
    user: User, *, browser_id: str, client_address: str = '', max_age: timedelta = SESSION_MAX_AGE
) -> str:
    """After a right password: a single-use ticket, valid for a minute, that only this browser can claim."""
    ticket = secrets.token_urlsafe(32)
    moment = now()
    await LoginSession.create(
        user_id=user.id, ticket_digest=_digest(ticket), browser_digest=_digest(browser_id),
        client_address=client_address[:64], expires_at=moment + max_age, idle_until=moment + LOGIN_TICKET_TTL,
    )  # fmt: skip
    return ticket


async def claim_login(ticket: str, *, browser_id: str, idle: timedelta = SESSION_IDLE) -> Session | None:
    """Turn a ticket into a session, once; None for an unknown, used, late or other browser's ticket."""
    key, moment = secrets.token_urlsafe(32), now()
    claimed = await LoginSession.filter(
        ticket_digest=_digest(ticket or ''), browser_digest=_digest(browser_id), key_digest=None,
        ended_at=None, idle_until__gt=moment,
    ).update(ticket_digest=None, key_digest=_digest(key), idle_until=moment + idle)  # fmt: skip
    if not claimed:
        return None
    row = await LoginSession.get(key_digest=_digest(key)).select_related('user')
    if not row.user.is_enabled:
        return None
    return Session(user_id=row.user_id, epoch=row.user.session_epoch, key=key)


async def open_session(
    user: User, *, idle: timedelta = SESSION_IDLE, max_age: timedelta = SESSION_MAX_AGE, client_address: str = ''
) -> Session:
    """A session straight away, for callers that hold no browser (the command line, tests)."""
    key, moment = secrets.token_urlsafe(32), now()
    await LoginSession.create(
        user_id=user.id, key_digest=_digest(key), client_address=client_address[:64],
        expires_at=moment + max_age, idle_until=moment + idle,
    )  # fmt: skip
    return Session(user_id=user.id, epoch=user.session_epoch, key=key)


async def end_session(session: Session | None) -> bool:
    """Log out: the session ends for every tab of its browser. True if it was still open."""
    if session is None:
        return False
    return bool(await LoginSession.filter(key_digest=session.digest, ended_at=None).update(ended_at=now()))


async def touch_session(session: Session | None, *, idle: timedelta = SESSION_IDLE) -> None:
    """A request of the session's own browser: its idle deadline moves on (at most once a minute)."""
    if session is None:
        return
    moment = now()
    await LoginSession.filter(
        key_digest=session.digest, ended_at=None, idle_until__gt=moment, idle_until__lt=moment + idle - TOUCH_EVERY,
        expires_at__gt=moment,
    ).update(idle_until=moment + idle)  # fmt: skip


async def load_user(session: Session | None) -> User:
    """The session's user, re-read now; NotAuthenticated when the session has ended."""
    if session is None:
        raise NotAuthenticated('Please log in.')
    row = await LoginSession.get_or_none(key_digest=session.digest).select_related('user__organization')
    moment = now()
    if row is None or row.ended_at is not None or row.idle_until <= moment or row.expires_at <= moment:
        raise NotAuthenticated(SESSION_ENDED)
    user = row.user
    if user.id != session.user_id or user.session_epoch != session.epoch or not user.is_enabled:
        raise NotAuthenticated(SESSION_ENDED)
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
    """A fresh single-use token for `user`. Older ones keep working until `retire_older_tokens` once it is sent."""
    token = secrets.token_urlsafe(32)
    await PasswordToken.create(user_id=user.id, token_hash=_digest(token), purpose=purpose, expires_at=now() + ttl)
    return token


async def retire_older_tokens(user_id: int, *, keep: str) -> None:
    """The link `keep` was handed over: every other unused link of the user stops working."""
    await PasswordToken.filter(user_id=user_id, used_at=None).exclude(token_hash=_digest(keep)).update(used_at=now())


async def withdraw_token(token: str) -> None:
    """A link that could not be handed over (the mail failed) never works."""
    await PasswordToken.filter(token_hash=_digest(token)).delete()


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
        if not await _within_limit('reset-email', email, MAX_RESETS_PER_EMAIL, RESET_WINDOW):
            log.warning('password reset refused: %s asked %s times within an hour', email, MAX_RESETS_PER_EMAIL)
            return
        if client_address and not await _within_limit(
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
    mail = link_mail(
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
        await PasswordToken.filter(user_id=record.user_id, used_at=None).update(used_at=now())
        await LoginThrottle.filter(email=record.user.email).delete()
    return await User.get(id=record.user_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

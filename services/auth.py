"""Logins and sessions (passwords and their links: services.passwords).

A session is a row of `sessions`, found by the SHA-256 of a random key that only the browser's signed cookie
holds. The cookie also names the user and the session epoch it was opened with. Every page and every action
reloads the session and its user, so ending the row (log out, idle, too old) or bumping the epoch (disable,
delete, password change) ends it at its next step.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from db.models import LoginSession, LoginThrottle, RateHit, Role, User
from services.errors import NotAuthenticated, PermissionDenied, RateLimited, ValidationFailed
from services.locks import one_at_a_time
from services.moments import now
from services.passwords import RESET_WINDOW, digest, verify_password, within_limit

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MAX_FAILED_LOGINS_PER_ADDRESS = 30
SESSION_IDLE = timedelta(hours=12)
SESSION_MAX_AGE = timedelta(days=14)
LOGIN_TICKET_TTL = timedelta(seconds=60)
# A request moves a session's idle deadline on only when it is at least this old: not one write per click.
TOUCH_EVERY = timedelta(minutes=1)
LOGIN_FAILED = 'Wrong email or password.'
LOCKED_OUT = 'Too many failed logins for this email. Try again in 15 minutes.'
ADDRESS_LOCKED_OUT = 'Too many failed logins from your network. Try again in 15 minutes.'
SESSION_ENDED = 'Your session has ended. Please log in again.'

log = logging.getLogger('portico.auth')


@dataclass(frozen=True)
class Session:
    user_id: int
    epoch: int
    key: str

    @property
    def digest(self) -> str:
        """Names this session in the database and in change events, without the key itself."""
        return digest(self.key)

    def to_cookie(self) -> dict:
        return {'user_id': self.user_id, 'epoch': self.epoch, 'key': self.key}

    @classmethod
    def from_cookie(cls, cookie) -> 'Session | None':
        user_id, epoch, key = cookie.get('user_id'), cookie.get('epoch'), cookie.get('key')
        if not isinstance(user_id, int) or not isinstance(epoch, int) or not isinstance(key, str) or not key:
            return None
        return cls(user_id=user_id, epoch=epoch, key=key)


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
    return user


async def _take_address_attempt(client_address: str) -> int | None:
    if not client_address:
        return None
    async with one_at_a_time('login-address', client_address):
        if not await within_limit('login-address', client_address, MAX_FAILED_LOGINS_PER_ADDRESS, LOCKOUT):
            log.warning('login refused: %s failed logins from %s within 15 minutes', MAX_FAILED_LOGINS_PER_ADDRESS,
                        client_address)  # fmt: skip
            raise RateLimited(ADDRESS_LOCKED_OUT)
        return (await RateHit.create(scope='login-address', key=client_address, at=now())).id


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
    """After a right password (or /setup's new admin): a single-use ticket, valid for a minute, that only this
    browser can claim. The user's last login is now."""
    ticket = secrets.token_urlsafe(32)
    moment = now()
    await User.filter(id=user.id).update(last_login_at=moment)
    await LoginSession.create(
        user_id=user.id, ticket_digest=digest(ticket), browser_digest=digest(browser_id),
        client_address=client_address[:64], expires_at=moment + max_age, idle_until=moment + LOGIN_TICKET_TTL,
    )  # fmt: skip
    return ticket


async def claim_login(ticket: str, *, browser_id: str, idle: timedelta = SESSION_IDLE) -> Session | None:
    """Turn a ticket into a session, once; None for an unknown, used, late or other browser's ticket."""
    key, moment = secrets.token_urlsafe(32), now()
    claimed = await LoginSession.filter(
        ticket_digest=digest(ticket or ''), browser_digest=digest(browser_id), key_digest=None,
        ended_at=None, idle_until__gt=moment,
    ).update(ticket_digest=None, key_digest=digest(key), idle_until=moment + idle)  # fmt: skip
    if not claimed:
        return None
    row = await LoginSession.get(key_digest=digest(key)).select_related('user')
    if not row.user.is_enabled:
        return None
    return Session(user_id=row.user_id, epoch=row.user.session_epoch, key=key)


async def open_session(
    user: User, *, idle: timedelta = SESSION_IDLE, max_age: timedelta = SESSION_MAX_AGE, client_address: str = ''
) -> Session:
    """A session straight away, for callers that hold no browser (the command line, tests)."""
    key, moment = secrets.token_urlsafe(32), now()
    await LoginSession.create(
        user_id=user.id, key_digest=digest(key), client_address=client_address[:64],
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
    return (await load_login(session)).user


async def load_login(session: Session | None) -> LoginSession:
    """The session's row with its user (and organization), re-read now; NotAuthenticated when it has ended."""
    if session is None:
        raise NotAuthenticated('Please log in.')
    row = await LoginSession.get_or_none(key_digest=session.digest).select_related('user__organization')
    moment = now()
    if row is None or row.ended_at is not None or row.idle_until <= moment or row.expires_at <= moment:
        raise NotAuthenticated(SESSION_ENDED)
    user = row.user
    if user.id != session.user_id or user.session_epoch != session.epoch or not user.is_enabled:
        raise NotAuthenticated(SESSION_ENDED)
    return row


async def require_admin(session: Session | None, *, organization_id: int | None = None) -> User:
    """The caller, if still an enabled admin (of `organization_id` when given); raises otherwise."""
    user = await load_user(session)
    if not user.is_admin:
        raise PermissionDenied('You need administrative rights to open the administration portal.')
    if organization_id is not None and user.organization_id != organization_id:
        raise PermissionDenied('You can only manage your own organization.')
    return user


async def admins_to_ask(session: Session | None) -> tuple[User | None, list[User]]:
    """For a member refused the portal: who they are, and the enabled admins of their organization to ask."""
    try:
        user = await load_user(session)
    except NotAuthenticated:
        return None, []
    admins = await User.filter(organization_id=user.organization_id, role=Role.ADMIN, is_enabled=True).order_by('name')
    return user, admins

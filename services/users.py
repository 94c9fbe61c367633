"""User management: the list, add, edit, resend the password email, enable/disable and delete.

Every rule lives here, not in the page: self-protection, at least one enabled admin, the seat limit and the resend
limit. Each write locks the organization's row first, so two admins acting at once cannot both take the last seat
or demote each other into an organization without admins.
"""

import asyncio
import itertools
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db.models import Organization, PasswordToken, Role, User
from services import audit, oidc
from services.auth import Session, require_admin
from services.billing.mirror import seat_limit, seats_in_use
from services.errors import PermissionDenied, RateLimited, ValidationFailed
from services.events import Events, session_ended, users_changed
from services.forms import UserForm
from services.mail import Mailer, password_mail
from services.moments import now
from services.passwords import INVITE_LINK_TTL, hand_over_link, invitations_pending, issue_password_token
from services.product_webhooks import ProductWebhooks, nudge
from services.settings import Settings

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_SENDS_PER_HOUR = 3
SHARED_READ_SECONDS = 2.0  # how long the pages reloading after one change may share its read
# The audit log's action -> the event the product hears.
PRODUCT_EVENTS = {'user.added': 'user.created', 'user.edited': 'user.updated', 'user.enabled': 'user.enabled',
                  'user.disabled': 'user.disabled', 'user.deleted': 'user.deleted'}  # fmt: skip
SORTS = {'name': 'name', 'email': 'email', 'last_login': 'last_login_at'}


class SeatsExhausted(ValidationFailed):
    """Every seat is taken; the admin can add seats or disable someone. Forms show it beside "+ Add seats"."""

    def __init__(self, message: str) -> None:
        super().__init__({'seats': message})


@dataclass(frozen=True)
class UserQuery:
    search: str = ''
    sort: str = 'name'
    descending: bool = False
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class UserPage:
    rows: list[User]
    total: int
    page: int
    per_page: int
    seats_used: int
    seat_limit: int
    invitations: dict = field(default_factory=dict)  # user id -> when the link expires (None: no link)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


_change_numbers = itertools.count(1)


@dataclass(frozen=True)
class UserChange:
    """What one change did to an organization's users, published to its open pages (`users_changed`). They show it
    from this alone: in the user's row, or by reloading their list only when its membership or order may change."""

    kind: str  # 'added', 'edited', 'enabled', 'disabled' or 'deleted'
    user: User  # as saved; as it was, for 'deleted'
    fields: frozenset[str]  # what changed: UserForm's field names, or 'is_enabled'
    seats_used: int  # the enabled users after the change
    number: int = field(default_factory=lambda: next(_change_numbers))  # in this process, for `UserDirectory.page`

    @property
    def moves_rows(self) -> bool:
        """Whether a list may gain or lose a row, whatever its sort and search: an email change also ends the
        user's pending invitation, which the row shows."""
        return self.kind in ('added', 'deleted') or 'email' in self.fields


@dataclass(frozen=True)
class PasswordEmail:
    """The outcome of "+ Add user" or "Resend password email". Without SMTP nothing was mailed, and `link` is the
    set-password link for the acting admin to hand over; it is shown once and kept nowhere."""

    user: User
    link: str | None


def user_data(user: User) -> dict[str, Any]:
    """A user as the product API and its webhooks show them."""
    last_login = int(user.last_login_at.timestamp()) if user.last_login_at else None
    return {
        'object': 'user', 'id': user.id, 'organization': user.organization_id, 'name': user.name, 'email': user.email,
        'role': str(user.role), 'is_enabled': user.is_enabled, 'last_login': last_login,
    }  # fmt: skip


def snapshot(user: User) -> dict[str, Any]:
    """What the audit log keeps of a user, before and after a change."""
    return {**{item.name: str(getattr(user, item.name)) for item in fields(UserForm)}, 'is_enabled': user.is_enabled}


async def _change(kind: str, user: User, changed: set[str]) -> UserChange:
    """The change, its seats counted in its own transaction: one count for all the pages it reaches."""
    seats_used = await seats_in_use(user.organization_id)
    return UserChange(kind=kind, user=user, fields=frozenset(changed), seats_used=seats_used)


class UserDirectory:
    def __init__(self, *, settings: Settings, mailer: Mailer, events: Events, product: ProductWebhooks) -> None:
        self.settings = settings
        self.mailer = mailer
        self.events = events
        self.product = product
        self._shared_reads: dict[tuple, asyncio.Future[UserPage]] = {}

    async def _seat_limit(self, organization_id: int) -> int:
        return await seat_limit(organization_id, trial_seats=self.settings.trial_seats)

    async def page(self, *, session: Session | None, query: UserQuery, after: UserChange | None = None) -> UserPage:
        """One page of the caller's organization's users, searched, sorted and paged by the database.

        `after`: the change that made an open page ask. Every open page of the organization asks at once then; those
        asking for the same page after the same change share one read (each caller is still checked on its own)."""
        admin = await require_admin(session)
        if after is None:
            return await self._page(admin.organization_id, query)
        key = (admin.organization_id, query, after.number)
        if (shared := self._shared_reads.get(key)) is None:
            shared = self._shared_reads[key] = asyncio.ensure_future(self._page(admin.organization_id, query))
            # Kept a moment for the pages that ask later in the same burst, then dropped.
            shared.add_done_callback(lambda _: asyncio.get_running_loop().call_later(
                SHARED_READ_SECONDS, self._shared_reads.pop, key, None))  # fmt: skip
        return await asyncio.shield(shared)

    async def _page(self, organization_id: int, query: UserQuery) -> UserPage:
        per_page = min(max(query.per_page, 1), MAX_PAGE_SIZE)
        users = User.filter(organization_id=organization_id)
        if search := query.search.strip():
            users = users.filter(search_text__contains=search.casefold())
        total = await users.count()
        page = min(max(query.page, 1), max(1, -(-total // per_page)))
        sort_field = SORTS.get(query.sort, 'name')
        offset = (page - 1) * per_page
        if sort_field == 'last_login_at':
            rows = await _by_last_login(users, descending=query.descending, offset=offset, limit=per_page)
        else:
            order = (f'-{sort_field}', '-id') if query.descending else (sort_field, 'id')
            rows = await users.order_by(*order).offset(offset).limit(per_page)
        return UserPage(
            rows=rows,
            total=total,
            page=page,
            per_page=per_page,
            seats_used=await seats_in_use(organization_id),
            seat_limit=await self._seat_limit(organization_id),
            invitations=await invitations_pending(rows),
        )

    async def add(self, *, session: Session | None, form: UserForm) -> PasswordEmail:
        form = form.clean()
        async with in_transaction():
            admin, organization = await self._lock(session)
            await self._require_free_seat(organization.id)
            if await User.filter(email=form.email).exists():
                raise ValidationFailed({'email': 'A user with this email already exists.'})
            try:
                user = await User.create(organization_id=organization.id, **_values(form))
            except IntegrityError:
                raise ValidationFailed({'email': 'A user with this email already exists.'}) from None
            await self._record(admin, 'user.added', user, after=snapshot(user))
            token = await issue_password_token(user, purpose='invite', ttl=INVITE_LINK_TTL)
            change = await _change('added', user, {item.name for item in fields(UserForm)})
        self._published(change, ended=None)
        return await self._send_invitation(user, organization, inviter=admin, token=token)

    async def edit(self, *, session: Session | None, user_id: int, form: UserForm) -> User:
        form = form.clean()
        email, role = form.email, Role(form.role)
        async with in_transaction():
            admin, organization = await self._lock(session)
            user = await self._target(organization.id, user_id)
            before = snapshot(user)
            if role != user.role:
                if user.id == admin.id:
                    raise PermissionDenied('You cannot change your own role. Ask another admin.')
                if user.role == Role.ADMIN and user.is_enabled:
                    await self._require_another_enabled_admin(organization.id, user.id)
            if email != user.email and await User.filter(email=email).exclude(id=user.id).exists():
                raise ValidationFailed({'email': 'A user with this email already exists.'})
            ends_sessions = email != user.email or role != user.role
            if email != user.email:
                # A link mailed to the old address (perhaps a typo, perhaps someone else's) must not set a password.
                await PasswordToken.filter(user_id=user.id, used_at=None).update(used_at=now())
            for name, value in _values(form).items():
                setattr(user, name, value)
            if ends_sessions:
                user.session_epoch += 1
                await oidc.end_product_sessions(user)
            await user.save()
            after = snapshot(user)
            await self._record(admin, 'user.edited', user, before=before, after=after)
            change = await _change('edited', user, {name for name in after if after[name] != before[name]})
        self._published(change, ended=user.id if ends_sessions else None)
        return user

    async def set_enabled(self, *, session: Session | None, user_id: int, enabled: bool) -> User:
        async with in_transaction():
            admin, organization = await self._lock(session)
            user = await self._target(organization.id, user_id)
            if user.is_enabled == enabled:
                return user
            before = snapshot(user)
            if enabled:
                await self._require_free_seat(organization.id)
            else:
                if user.id == admin.id:
                    raise PermissionDenied('You cannot disable yourself. Ask another admin.')
                if user.role == Role.ADMIN:
                    await self._require_another_enabled_admin(organization.id, user.id)
                user.session_epoch += 1
                await oidc.end_product_sessions(user)
            user.is_enabled = enabled
            await user.save()
            action = 'user.enabled' if enabled else 'user.disabled'
            await self._record(admin, action, user, before=before, after=snapshot(user))
            change = await _change(action.removeprefix('user.'), user, {'is_enabled'})
        self._published(change, ended=None if enabled else user.id)
        return user

    async def delete(self, *, session: Session | None, user_id: int) -> User:
        """Delete the user for good; returns the user as they were."""
        async with in_transaction():
            admin, organization = await self._lock(session)
            user = await self._target(organization.id, user_id)
            if user.id == admin.id:
                raise PermissionDenied('You cannot delete yourself. Ask another admin.')
            if user.role == Role.ADMIN and user.is_enabled:
                await self._require_another_enabled_admin(organization.id, user.id)
            await self._record(admin, 'user.deleted', user, before=snapshot(user))
            await oidc.end_product_sessions(user)
            await user.delete()
            change = await _change('deleted', user, set())
        self._published(change, ended=user_id)
        return user

    async def resend_password_email(self, *, session: Session | None, user_id: int) -> PasswordEmail:
        async with in_transaction():
            admin, organization = await self._lock(session)
            user = await self._target(organization.id, user_id)
            if not user.is_enabled:
                raise PermissionDenied(f'{user.name} is disabled. Enable them before sending a password email.')
            hour_ago = now() - timedelta(hours=1)
            sent = await PasswordToken.filter(user_id=user.id, purpose='invite', created_at__gt=hour_ago).count()
            if sent >= MAX_SENDS_PER_HOUR:
                raise RateLimited(
                    f'A password email was already sent to {user.email} {MAX_SENDS_PER_HOUR} times in the last hour. '
                    'Try again later.'
                )
            token = await issue_password_token(user, purpose='invite', ttl=INVITE_LINK_TTL)
            await audit.record(
                actor=admin, action='user.password_email_sent', target_type='user', target_id=user.id,
                target_label=user.email,
            )  # fmt: skip
        return await self._send_invitation(user, organization, inviter=admin, token=token)

    async def _record(self, admin: User, action: str, user: User, **change) -> None:
        """The audit log's event and the product's, in the change's transaction."""
        await audit.record(actor=admin, action=action, target_type='user', target_id=user.id, target_label=user.email,
                           **change)  # fmt: skip
        await self.product.enqueue(user.organization_id, PRODUCT_EVENTS[action], user_data(user))

    async def _lock(self, session: Session | None) -> tuple[User, Organization]:
        """Lock the caller's organization row, then re-check the caller under that lock."""
        caller = await require_admin(session)
        organization = await Organization.select_for_update().get(id=caller.organization_id)
        return await require_admin(session, organization_id=organization.id), organization

    @staticmethod
    async def _target(organization_id: int, user_id: int) -> User:
        user = await User.get_or_none(id=user_id, organization_id=organization_id)
        if user is None:
            # Also the answer for a user of another organization: it does not exist for this caller.
            raise PermissionDenied('This user no longer exists.')
        return user

    async def _require_free_seat(self, organization_id: int) -> None:
        used, limit = await seats_in_use(organization_id), await self._seat_limit(organization_id)
        if used >= limit:
            taken = 'Your only seat is taken' if limit == 1 else f'All {limit:,} seats are taken'
            raise SeatsExhausted(f'{taken}. Add seats, or disable a user to free one.')

    @staticmethod
    async def _require_another_enabled_admin(organization_id: int, user_id: int) -> None:
        others = User.filter(organization_id=organization_id, role=Role.ADMIN, is_enabled=True).exclude(id=user_id)
        if not await others.exists():
            raise PermissionDenied('The organization must keep at least one enabled admin.')

    def _published(self, change: UserChange, *, ended: int | None) -> None:
        """After the commit: open pages hear of it; the product's webhooks and back-channel logouts go at once."""
        nudge()
        if ended is not None:
            self.events.publish(session_ended(ended))
        self.events.publish(users_changed(change.user.organization_id), change)

    async def _send_invitation(
        self, user: User, organization: Organization, *, inviter: User, token: str
    ) -> PasswordEmail:
        link = f'{self.settings.base_url}/set-password/{token}'
        mail = password_mail(recipient=user.email, name=user.name, organization=organization.name, link=link,
                             inviter=inviter.name)  # fmt: skip
        await hand_over_link(user, token, lambda: self.mailer.send(mail))
        return PasswordEmail(user=user, link=None if self.mailer.sends else link)


async def _by_last_login(users, *, descending: bool, offset: int, limit: int) -> list[User]:
    """Users by last login, who never logged in last either way, each part read in its index's order.

    (SQLite and PostgreSQL put NULLs at opposite ends, and an expression to even them out defeats the index.)
    """
    logged_in = users.filter(last_login_at__not_isnull=True)
    order = ('-last_login_at', '-id') if descending else ('last_login_at', 'id')
    rows = await logged_in.order_by(*order).offset(offset).limit(limit)
    if len(rows) == limit:
        return rows
    before_never = offset + len(rows) if rows else await logged_in.count()
    never = users.filter(last_login_at=None).order_by('-id' if descending else 'id')
    return rows + await never.offset(max(0, offset - before_never)).limit(limit - len(rows))


def _values(form: UserForm) -> dict[str, Any]:
    """The form's fields as the model's values."""
    values = {item.name: getattr(form, item.name) for item in fields(form)}
    return {**values, 'role': Role(values['role'])}

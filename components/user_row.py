"""One row of the Users section: a user's name, email, role, "Is enabled?" switch, last login and row buttons.

The row is drawn by `user_row.js` in the browser, so a page of 100 users holds 100 elements on the server instead
of 1,300: what keeps an open page well under 1 MiB of server memory. It emits "edit", "resend", "delete" and
"toggle" (with the switch's new value); the list decides what they do. On the admin's own row (`own`), "Is enabled?"
and "Delete user" are disabled, with a tooltip saying why; the services refuse both anyway.
"""

from collections.abc import Callable
from datetime import datetime

from nicegui import events, ui

from db.models import Role, User
from services.forms import ROLE_CHOICES
from services.moments import long_date, now


class UserRow(ui.element, component='user_row.js'):
    def __init__(
        self,
        user: User,
        *,
        on_edit: Callable[[User], object],
        on_resend: Callable[[User], object],
        on_delete: Callable[[User], object],
        on_toggle: Callable[['UserRow', bool], object],
        own: bool = False,
        invitation: str = '',
    ) -> None:
        super().__init__()
        self._props.update(own=own, pending=invitation)
        self._set_user(user)
        self.on('edit', lambda: on_edit(self.user))
        self.on('resend', lambda: on_resend(self.user))
        self.on('delete', lambda: on_delete(self.user))
        self.on('toggle', lambda event: on_toggle(self, _switched_to(event)))

    def _set_user(self, user: User) -> None:
        self.user = user
        self._props.update(name=user.name, email=user.email, role=ROLE_CHOICES[Role(user.role).value],
                           enabled=user.is_enabled, seen=last_login_text(user.last_login_at))  # fmt: skip

    def show(self, user: User, *, own: bool | None = None, invitation: str | None = None) -> None:
        """Show the user as saved now (or another user, when the list moved), in this row alone: one small message
        to the browser, nothing rebuilt."""
        self._set_user(user)
        if own is not None:
            self._props['own'] = own
        if invitation is not None:
            self._props['pending'] = invitation
        self.update()

    def _displayed_contents(self, *, only_visible: bool) -> list:
        # What the browser shows as text, for NiceGUI's ElementFilter (and so for the simulated user in tests).
        seen = ['Invitation pending', self._props['pending']] if self._props['pending'] else [self._props['seen']]
        return [self._props[key] for key in ('name', 'email', 'role')] + seen

    def show_enabled(self, value: bool) -> None:
        """Put the switch where the server says it is (after a change, or back after a refusal)."""
        self.user.is_enabled = value
        self._props['enabled'] = value  # for a re-render; the open page is told directly:
        self.run_method('show_enabled', value)


def invitation_text(user: User, invitations: dict) -> str:
    """For a user who never set a password: when the invitation's link expires, or that it did; '' otherwise."""
    if user.id not in invitations:
        return ''
    expires = invitations[user.id]
    if expires is None or expires <= now():
        return 'Link expired: resend it'
    return f'Link expires {long_date(expires)}'


def last_login_text(moment: datetime | None) -> str:
    return long_date(moment, time=True) if moment else 'Never'


def _switched_to(event: events.GenericEventArguments) -> bool:
    args = event.args
    return bool(args[0] if isinstance(args, list | tuple) else args)

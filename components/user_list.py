"""The "Users" section: search, sort and paging done by the database, one row per user of the current page.

The pencil, lock and trashcan buttons show when a row is hovered or holds keyboard focus, and always on a phone or a
touch screen (CSS below). The component does no I/O of its own: it calls the callbacks it is given, which return
None when the action was refused. Changes, its own admin's included, reach it from the page's change events
(`apply`), so an action's result is read once, not once by the dialog and again by the event.
"""

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from nicegui import ui

from components.forms import show_errors
from components.user_row import UserRow, invitation_text
from db.models import User
from services.errors import ValidationFailed
from services.forms import UserForm
from services.users import DEFAULT_PAGE_SIZE, PasswordEmail, SeatsExhausted, UserChange, UserPage, UserQuery
from services.words import plural

ROW_STYLE = """
<style>
.user-row { display: grid; align-items: center; gap: 0.5rem; padding: 0.25rem 0.5rem; border-bottom: 1px solid #eee;
            grid-template-columns: minmax(0, 1.2fr) minmax(0, 1.6fr) 5rem 6rem 12.5rem 7rem; }
.user-row:hover, .user-row:focus-within { background: #f5f7ff; }
.user-row:focus-visible { outline: 2px solid var(--q-primary); }
/* Transparent, not hidden: Shift+Tab from below the list must still reach them (a hidden button takes no focus). */
.user-row .row-actions { opacity: 0; }
.user-row:hover .row-actions, .user-row:focus-within .row-actions { opacity: 1; }
.row-button { display: inline-flex; align-items: center; justify-content: center; width: 2.4em; height: 2.4em;
              padding: 0; border: 0; border-radius: 50%; background: transparent; color: var(--q-primary);
              font-size: 14px; cursor: pointer; }
.row-button .material-icons { font-size: 1.715em; }
.row-button:hover { background: rgba(25, 118, 210, 0.12); }
.row-button:focus-visible { background: rgba(25, 118, 210, 0.12); outline: 2px solid var(--q-primary); }
.row-button:disabled { opacity: 0.6; cursor: not-allowed; background: transparent; }
.user-head { font-weight: 500; color: #616161; background: none !important; }
.user-row.user-muted > div:not(.row-actions) { color: #616161; font-style: italic; }
.user-pending { color: #8a4b00; line-height: 1.2; }
@media (hover: none) { .user-row .row-actions { opacity: 1; } }  /* a touch screen has no hover */
@media (max-width: 767px) {  /* a phone or a small tablet: each user is a card, its buttons always there */
  .user-head { display: none; }
  .user-row { grid-template-columns: minmax(0, 1fr) auto; grid-template-areas:
              "name enabled" "email email" "role seen" "actions actions";
              border: 1px solid #e0e0e0; border-radius: 8px; margin-bottom: 0.5rem; padding: 0.5rem 0.75rem; }
  .user-row .cell-name { grid-area: name; font-weight: 500; }
  .user-row .cell-email { grid-area: email; white-space: normal; overflow-wrap: anywhere; }
  .user-row .cell-role { grid-area: role; }
  .user-row .cell-enabled { grid-area: enabled; justify-self: end; }
  .user-row .cell-seen { grid-area: seen; text-align: right; }
  .user-row .row-actions { grid-area: actions; opacity: 1; justify-content: flex-end; }
}
</style>
"""


@dataclass(frozen=True)
class UserActions:
    load: Callable[[UserQuery, UserChange | None], Awaitable[UserPage | None]]  # the page; after which change
    add: Callable[[UserForm], Awaitable[PasswordEmail | None]]
    edit: Callable[[User, UserForm], Awaitable[User | None]]
    resend: Callable[[User], Awaitable[PasswordEmail | None]]
    delete: Callable[[User], Awaitable[bool | None]]
    set_enabled: Callable[[User, bool], Awaitable[User | None]]
    add_seats: Callable[[], None]


class UserList(ui.card):
    def __init__(self, actions: UserActions, *, current_user_id: int) -> None:
        super().__init__()
        self.actions = actions
        self.current_user_id = current_user_id
        self.query = UserQuery()
        self.result: UserPage | None = None
        self.drawn: list[UserRow] = []  # the rows in the page, in order
        self.drawn_sort: tuple | None = None  # the sort the header shows
        self._asked = 0  # reloads (search, paging, live updates) may finish out of order: the newest one is shown
        ui.add_head_html(ROW_STYLE)
        self.classes('w-full').props('aria-label="Users"')
        with self:
            with ui.row().classes('w-full items-center'):
                ui.label('Users').classes('text-h6').props('role=heading aria-level=2')
                self.seats = ui.label().classes('text-grey-7')
                ui.space()
                ui.button('+ Add user', on_click=self.open_add_dialog).props('no-caps')
            with ui.row().classes('w-full items-center'):
                ui.input('Search users', on_change=lambda e: self._set(search=e.value or '', page=1)).props(
                    'debounce=300 clearable dense outlined'
                ).classes('w-72').mark('search-users')
            # A table for screen readers (they announce each cell's column), a grid on screen, cards on a phone.
            self.rows_area = ui.column().classes('w-full gap-0').props('role=table aria-label="User list"')
            with ui.row().classes('w-full items-center justify-end no-wrap'):
                ui.label('Rows per page').classes('text-grey-8 gt-xs')  # a phone: the select's name says it
                ui.select(
                    [25, 50, 100], value=DEFAULT_PAGE_SIZE, on_change=lambda e: self._set(per_page=e.value, page=1)
                ).props('dense borderless aria-label="Rows per page"')
                self.range_label = ui.label()
                self.previous = ui.button(icon='chevron_left', on_click=lambda: self._set(page=self.query.page - 1))
                self.previous.props('flat round dense aria-label="Previous page"')
                self.next = ui.button(icon='chevron_right', on_click=lambda: self._set(page=self.query.page + 1))
                self.next.props('flat round dense aria-label="Next page"')

    async def reload(self, after: UserChange | None = None) -> None:
        """Show the current page of the query; `after`: the change made elsewhere that asks for it."""
        self._asked += 1
        asked = self._asked
        result = await self.actions.load(self.query, after)
        if result is None or asked != self._asked:  # a newer reload is on its way: its answer is the one to show
            return
        self.result = result
        self.query = replace(self.query, page=result.page)
        self.show_seats(result.seats_used, result.seat_limit)
        first = (result.page - 1) * result.per_page + 1 if result.total else 0
        last = (result.page - 1) * result.per_page + len(result.rows)
        self.range_label.text = f'{first:,}–{last:,} of {result.total:,}'
        self.previous.set_enabled(result.page > 1)
        self.next.set_enabled(result.page < result.pages)
        self._show_rows(result)

    def _show_rows(self, result: UserPage) -> None:
        """The rows drawn already show the page's users, in order (one small message each, sent together), and
        only as many rows as the count changed by are built or removed: an added user moves the rows, not rebuilds
        them. The header and the rest are rebuilt when the sort changed, or from and to "No users match"."""
        sort = (self.query.sort, self.query.descending)
        if sort != self.drawn_sort or not result.rows or not self.drawn:
            self.rows_area.clear()
            self.drawn, self.drawn_sort = [], sort
            with self.rows_area:
                self._header()
                if not result.rows:
                    with ui.element('div').props('role=row'):
                        ui.label('No users match your search.').classes('q-pa-md text-grey-8').props('role=cell')
        for row, user in zip(self.drawn, result.rows, strict=False):
            row.show(user, own=user.id == self.current_user_id, invitation=self._invitation(user))
        for row in self.drawn[len(result.rows) :]:
            self.rows_area.remove(row)
        with self.rows_area:
            self.drawn = self.drawn[: len(result.rows)] + [self._row(user) for user in result.rows[len(self.drawn) :]]

    @property
    def rows(self) -> dict[int, UserRow]:
        """The shown users' rows, by user id."""
        return {row.user.id: row for row in self.drawn}

    def show_seats(self, used: int, limit: int | None = None) -> None:
        """ "N of M seats used", after a reload, another admin's change or a new subscription."""
        if self.result is None:
            return
        self.result = replace(
            self.result, seats_used=used, seat_limit=self.result.seat_limit if limit is None else limit
        )
        self.seats.text = f'{used:,} of {plural(self.result.seat_limit, "seat")} used'

    async def apply(self, changes: list[UserChange]) -> None:
        """Show changes made elsewhere (another admin, another tab): each in its user's row, if shown, and the
        list reloaded only when it may gain or lose rows or change their order. So an open page of an organization
        costs one small message per change, not a query."""
        if not changes:
            return
        self.show_seats(changes[-1].seats_used)
        if any(self._reorders(change) for change in changes):
            await self.reload(after=changes[-1])
            return
        for change in changes:
            if (row := self.rows.get(change.user.id)) is not None:
                row.show(change.user)

    def _reorders(self, change: UserChange) -> bool:
        """A rename under a name sort, or in or out of a search, may move rows; so does what moves them anywhere."""
        ordering = {self.query.sort} & {'name', 'email'}
        matching = {'name', 'email'} if self.query.search.strip() else set()
        return change.moves_rows or bool(change.fields & (ordering | matching))

    async def _set(self, **changes) -> None:
        self.query = replace(self.query, **changes)
        await self.reload()

    def _header(self) -> None:
        with ui.element('div').classes('user-row user-head w-full').props('role=row'):
            for caption, sort in (('Name', 'name'), ('Email', 'email')):
                self._sort_button(caption, sort)
            ui.label('Role').props('role=columnheader')
            ui.label('Is enabled?').props('role=columnheader')
            self._sort_button('Last login', 'last_login')
            ui.element('div').props('role=columnheader aria-label=Actions')

    def _sort_button(self, caption: str, sort: str) -> None:
        active = self.query.sort == sort
        descending = not self.query.descending if active else False
        with ui.element('div').props('role=columnheader') as header:
            button = ui.button(caption, on_click=lambda: self._set(sort=sort, descending=descending, page=1))
        button.props('flat dense no-caps align=left').classes('text-grey-9')
        if active:
            button.props(f'icon-right={"arrow_downward" if self.query.descending else "arrow_upward"}')
            header.props(f'aria-sort={"descending" if self.query.descending else "ascending"}')
        button.props['aria-label'] = f'Sort by {caption.lower()}'

    def _row(self, user: User) -> UserRow:
        return UserRow(
            user,
            on_edit=self.open_edit_dialog,
            on_resend=self._resend,
            on_delete=self.open_delete_dialog,
            on_toggle=self._toggle,
            own=user.id == self.current_user_id,
            invitation=self._invitation(user),
        )

    def _invitation(self, user: User) -> str:
        return invitation_text(user, self.result.invitations if self.result else {})

    async def _toggle(self, row: UserRow, value: bool) -> None:
        user = row.user
        if value == user.is_enabled:
            return
        try:
            changed = await self.actions.set_enabled(user, value)
        except ValidationFailed as refusal:
            ui.notify(str(refusal), type='negative', multi_line=True)
            changed = None
        row.show_enabled(user.is_enabled if changed is None else changed.is_enabled)  # refused: put it back
        if changed is not None:
            ui.notify(f'{changed.name} can sign in again.' if changed.is_enabled
                      else f'{changed.name} can no longer sign in.', type='positive')  # fmt: skip

    async def _resend(self, user: User) -> None:
        client = ui.context.client  # now: a live update during the call may redraw the row and its button
        sent = await self.actions.resend(user)
        if sent is None:
            return
        if sent.link:
            with client:
                open_link_dialog(sent)
        else:
            ui.notify(f'A password email is on its way to {user.email}.', type='positive')

    def open_add_dialog(self) -> None:
        with ui.dialog().props('aria-label="Add user"') as dialog, ui.card().style('width: 28rem; max-width: 95vw'):
            ui.label('Add user').classes('text-h6')
            full = self.result is not None and self.result.seats_used >= self.result.seat_limit
            seats_note = ui.row().classes('items-center text-negative')
            seats_note.set_visibility(full)
            with seats_note:
                ui.label('Every seat is taken.')
                ui.button('+ Add seats', on_click=self.actions.add_seats).props('flat dense no-caps')
            fields = _user_fields()

            async def add() -> None:
                client = ui.context.client  # the link must show even if the list is redrawn meanwhile
                added = await self._submit(
                    dialog, fields, lambda: self.actions.add(_form(fields)),
                    lambda added: f'{added.user.name} was added.'
                    + ('' if added.link else ' A set-password email is on its way.'),
                    seats_note=seats_note,
                )  # fmt: skip
                if added is not None and added.link:
                    with client:
                        open_link_dialog(added)

            _dialog_buttons(dialog, 'Add user', add)
        dialog.open()

    def open_edit_dialog(self, user: User) -> None:
        with ui.dialog().props('aria-label="Edit user"') as dialog, ui.card().style('width: 28rem; max-width: 95vw'):
            ui.label('Edit user').classes('text-h6')
            fields = _user_fields(user)
            if user.id == self.current_user_id:  # refused by the service too; said here before anyone tries
                fields['role'].disable()
                fields['role'].props('hint="You cannot change your own role"')
                with fields['role']:
                    ui.tooltip('You cannot change your own role')

            async def save() -> None:
                await self._submit(
                    dialog,
                    fields,
                    lambda: self.actions.edit(user, _form(fields)),
                    lambda saved: f'{saved.name} was saved.',
                )

            _dialog_buttons(dialog, 'Save', save)
        dialog.open()

    async def _submit(self, dialog: ui.dialog, fields: dict, call, message, *, seats_note: ui.row | None = None):
        """Send a user form: field errors go next to their fields; a success closes the dialog and returns what the
        service returned. The list shows the change when the page hands it on (`apply`), as for anyone's change."""
        try:
            result = await call()
        except SeatsExhausted as refusal:
            if seats_note is None:
                raise
            show_errors(fields, None)
            seats_note.set_visibility(True)
            ui.notify(str(refusal), type='warning')
            return None
        except ValidationFailed as failure:
            show_errors(fields, failure)
            return None
        if result is not None:
            ui.notify(message(result), type='positive')
            dialog.close()
        return result

    def open_delete_dialog(self, user: User) -> None:
        with ui.dialog().props('aria-label="Delete user"') as dialog, ui.card().style('width: 28rem; max-width: 95vw'):
            ui.label('Delete user').classes('text-h6')
            ui.label('This removes the user, ends their sessions and frees their seat:')
            ui.label(user.name).classes('text-weight-medium')
            ui.label(user.email)

            async def delete() -> None:
                if await self.actions.delete(user):
                    ui.notify(f'{user.name} was deleted.', type='positive')
                    dialog.close()

            _dialog_buttons(dialog, 'Delete', delete, color='negative')
        dialog.open()


def open_link_dialog(sent: PasswordEmail) -> None:
    """Without SMTP nothing was mailed: the acting admin sees the link once, to hand it over themself."""
    user = sent.user
    lifetime = '72 hours' if user.password_hash is None else '72 hours; their current password keeps working'
    with (
        ui.dialog().props('persistent aria-label="Set-password link"') as dialog,
        ui.card().style('width: 32rem; max-width: 95vw'),
    ):
        ui.label('Set-password link').classes('text-h6')
        ui.label(
            f'No email was sent: this Portico has no mail server (SMTP). Give this link to {user.name} '
            f'({user.email}) yourself. It works once, for {lifetime}. It is not shown again and is not kept anywhere.'
        )
        ui.input('Link', value=sent.link).props('readonly outlined dense').classes('w-full').mark('password-link')

        async def copy() -> None:
            ui.clipboard.write(sent.link)
            ui.notify('Link copied.', type='positive')

        with ui.row().classes('w-full justify-end'):
            ui.button('Close', on_click=dialog.close).props('flat no-caps')
            ui.button('Copy link', icon='content_copy', on_click=copy).props('no-caps')
    dialog.on('hide', dialog.delete)
    dialog.open()


def _user_fields(user: User | None = None) -> dict[str, ui.element]:
    """One input per field of UserForm, as its metadata says (a label, an input type, or a choice)."""
    form = UserForm.of(user) if user else UserForm()
    fields: dict[str, ui.element] = {}
    for field in dataclasses.fields(UserForm):
        value, meta = getattr(form, field.name), field.metadata
        if 'choices' in meta:
            element = ui.select(meta['choices'], label=meta['label'], value=value)
        else:
            element = ui.input(meta['label'], value=value)
            if 'type' in meta:
                element.props(f'type={meta["type"]}')
        fields[field.name] = element.classes('w-full').mark(f'user-{field.name}')
    return fields


def _form(fields: dict[str, ui.element]) -> UserForm:
    return UserForm(**{name: element.value or '' for name, element in fields.items()})


def _dialog_buttons(dialog: ui.dialog, label: str, action: Callable, *, color: str = 'primary') -> None:
    with ui.row().classes('w-full justify-end'):
        ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
        ui.button(label, on_click=action, color=color).props('no-caps')

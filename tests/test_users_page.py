"""The "Users" section through NiceGUI's simulated user: forms, field errors, seats, live updates, the invitation."""

import asyncio

import pytest
from nicegui import ui
from nicegui.storage import request_contextvar
from nicegui.testing import User as UserSim
from nicegui.testing.user_interaction import UserInteraction

from components.user_list import UserList
from components.user_row import UserRow
from db.models import AuditEvent, Role, User
from services.errors import NotAuthenticated
from services.forms import UserForm
from services.users import UserDirectory
from tests.conftest import Inbox
from tests.helpers import PASSWORD, click, create_admin, create_member, log_in, log_out

NEW_PASSWORD = 'invited user password'


def user_list(user: UserSim) -> UserList:
    return next(iter(user.find(kind=UserList).elements))


def row_of(user: UserSim, name: str) -> UserRow:
    return next(row for row in user_list(user).rows_area.descendants() if row.props.get('name') == name)


def press(user: UserSim, row: UserRow, event: str, args=None) -> None:
    """What the row's pencil, lock and trashcan ("edit", "resend", "delete") and its switch ("toggle") send.

    A browser's event carries its own request; a simulated one runs in whatever request came last, so with two
    simulated users the request of the one who presses is set explicitly.
    """
    token = request_contextvar.set(user.client.request)
    try:
        UserInteraction(user, {row}, None).trigger(event, args)
    finally:
        request_contextvar.reset(token)


def switch(user: UserSim, name: str) -> None:
    row = row_of(user, name)
    press(user, row, 'toggle', [not row.props['enabled']])


async def _false(value) -> bool:
    return value is False


async def _true(value) -> bool:
    return bool(value)


def _record_outcomes(monkeypatch, cls, name: str) -> list:
    """Spy on a service method: what each call returned or raised, in order."""
    outcomes: list = []
    method = getattr(cls, name)

    async def recorded(self, **kwargs):
        try:
            result = await method(self, **kwargs)
        except Exception as error:
            outcomes.append(error)
            raise
        outcomes.append(result)
        return result

    monkeypatch.setattr(cls, name, recorded)
    return outcomes


async def until(condition, attempts: int = 50) -> None:
    for _ in range(attempts):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError('condition not met')


def fill(user: UserSim, **values: str) -> None:
    for field, value in values.items():
        user.find(marker=f'user-{field}').elements.pop().value = value


async def open_add_dialog(user: UserSim) -> None:
    click(user, '+ Add user')
    await user.should_see('Add user', kind=ui.button)


async def test_add_user_shows_the_row_and_writes_the_audit(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email)
    await user.should_see('1 of 3 seats used')
    await open_add_dialog(user)
    fill(user, name='Nina New', email='Nina@Example.com', role=Role.ADMIN.value)
    click(user, 'Add user')
    await user.should_see('Nina New was added.', retries=20)
    await user.should_see('nina@example.com')
    await user.should_see('2 of 3 seats used')
    added = await User.get(email='nina@example.com')
    assert (added.role, added.is_enabled, added.password_hash) == (Role.ADMIN, True, None)
    assert await AuditEvent.filter(action='user.added', target_id=added.id).exists()


@pytest.mark.parametrize(
    ('values', 'field', 'message'),
    [
        ({'name': '', 'email': 'ok@example.com'}, 'name', 'Name is required.'),
        ({'name': '   ', 'email': 'ok@example.com'}, 'name', 'Name is required.'),
        ({'name': 'n' * 201, 'email': 'ok@example.com'}, 'name', 'Name can be at most 200 characters.'),
        ({'name': 'Ok', 'email': ''}, 'email', 'Email is required.'),
        ({'name': 'Ok', 'email': 'no-at-sign'}, 'email', 'Enter a valid email address'),
        ({'name': 'Ok', 'email': 'two@@example.com'}, 'email', 'Enter a valid email address'),
        ({'name': 'Ok', 'email': 'space in@example.com'}, 'email', 'Enter a valid email address'),
        ({'name': 'Ok', 'email': 'x' * 250 + '@example.com'}, 'email', 'Enter a valid email address'),
        ({'name': 'Ok', 'email': 'ADMIN@EXAMPLE.COM'}, 'email', 'A user with this email already exists.'),
    ],
)
async def test_bad_input_is_answered_at_its_field_and_nothing_is_written(
    user: UserSim, values: dict, field: str, message: str
) -> None:
    admin = await create_admin(email='admin@example.com')
    await log_in(user, admin.email)
    await open_add_dialog(user)
    fill(user, **values)
    click(user, 'Add user')
    await user.should_see(message, retries=20)
    element = user.find(marker=f'user-{field}').elements.pop()
    assert element.error and message in element.error
    assert await User.filter(organization_id=admin.organization_id).count() == 1
    assert not await AuditEvent.filter(action='user.added').exists()


@pytest.mark.parametrize(
    ('values', 'field', 'message'),
    [
        ({'name': ''}, 'name', 'Name is required.'),
        ({'name': 'n' * 201}, 'name', 'Name can be at most 200 characters.'),
        ({'email': 'no-at-sign'}, 'email', 'Enter a valid email address'),
        ({'email': 'Admin@Example.com'}, 'email', 'A user with this email already exists.'),
    ],
)
async def test_bad_input_in_the_edit_form_is_answered_at_its_field_and_nothing_is_written(
    user: UserSim, values: dict, field: str, message: str
) -> None:
    admin = await create_admin(email='admin@example.com')
    member = await create_member(admin, name='Edna Edit', email='edna@example.com')
    await log_in(user, admin.email)
    press(user, row_of(user, 'Edna Edit'), 'edit')
    await user.should_see('Edit user', kind=ui.label)
    fill(user, **values)
    click(user, 'Save')
    await user.should_see(message, retries=20)
    element = user.find(marker=f'user-{field}').elements.pop()
    assert element.error and message in element.error
    saved = await User.get(id=member.id)
    assert (saved.name, saved.email, saved.session_epoch) == ('Edna Edit', 'edna@example.com', member.session_epoch)
    assert not await AuditEvent.filter(action='user.edited').exists()


async def test_html_in_a_name_is_shown_as_text(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email)
    await open_add_dialog(user)
    script = '<script>alert("x")</script><b>Bold</b>'
    fill(user, name=script, email='html@example.com')
    click(user, 'Add user')
    await user.should_see('was added.', retries=20)
    await user.should_see(script, kind=UserRow)  # kept as the characters typed; Chromium proves no HTML is made
    assert (await User.get(email='html@example.com')).name == script


async def test_a_full_organization_offers_more_seats(user: UserSim) -> None:
    admin = await create_admin()
    await create_member(admin)
    await create_member(admin)
    await log_in(user, admin.email)
    await user.should_see('3 of 3 seats used')
    await open_add_dialog(user)
    await user.should_see('Every seat is taken.')
    fill(user, name='One Too Many', email='many@example.com')
    click(user, 'Add user')
    await user.should_see('All 3 seats are taken. Add seats, or disable a user to free one.', retries=20)
    click(user, '+ Add seats')
    await user.should_see('Select Flexible', retries=20)  # a trial buys seats with its first subscription
    assert not await User.filter(email='many@example.com').exists()


async def test_edit_resend_disable_and_delete_from_the_rows(user: UserSim) -> None:
    admin = await create_admin()
    member = await create_member(admin, name='Rowan Row')
    await log_in(user, admin.email)

    press(user, row_of(user, 'Rowan Row'), 'edit')
    await user.should_see('Edit user', kind=ui.label)
    fill(user, name='Rowan Renamed')
    click(user, 'Save')
    await user.should_see('Rowan Renamed was saved.', retries=20)

    press(user, row_of(user, 'Rowan Renamed'), 'resend')
    await user.should_see('Copy link', retries=20)  # no SMTP here: the link is shown once, to be handed over
    await user.should_see(f'Give this link to Rowan Renamed ({member.email}) yourself.')
    [link] = user.find(marker='password-link').elements
    assert link.value.startswith('http://127.0.0.1:8080/set-password/')
    click(user, 'Close')

    switch(user, 'Rowan Renamed')
    await until(lambda: User.filter(id=member.id, is_enabled=False).exists())
    await user.should_see('1 of 3 seats used', retries=20)

    press(user, row_of(user, 'Rowan Renamed'), 'delete')
    await user.should_see('This removes the user, ends their sessions and frees their seat:')
    await user.should_see(member.email, kind=ui.label)
    click(user, 'Delete')
    await user.should_see('Rowan Renamed was deleted.', retries=20)
    assert not await User.filter(id=member.id).exists()


async def test_the_server_refuses_what_the_ui_hides(user: UserSim) -> None:
    """Handlers called directly, as a crafted websocket message would: every rule still holds."""
    admin = await create_admin('Org A')
    stranger = await create_admin('Org B')
    await log_in(user, admin.email)
    actions = user_list(user).actions
    assert await actions.set_enabled(admin, False) is None
    await user.should_see('You cannot disable yourself.', retries=20)
    assert await actions.delete(admin) is None
    await user.should_see('You cannot delete yourself.', retries=20)
    assert await actions.edit(admin, UserForm(admin.name, admin.email, Role.MEMBER.value)) is None
    await user.should_see('You cannot change your own role.', retries=20)
    assert await actions.set_enabled(stranger, False) is None
    assert await actions.delete(stranger) is None
    assert await actions.resend(stranger) is None
    await user.should_see('This user no longer exists.', retries=20)
    assert (await User.get(id=admin.id)).is_admin and (await User.get(id=stranger.id)).is_enabled
    await create_member(admin)
    await create_member(admin)
    extra = await User.create(organization_id=admin.organization_id, name='Off', email='off@example.com',
                              is_enabled=False)  # fmt: skip
    await user.open('/admin')
    switch(user, 'Off')  # the switch is there, the seat is not free
    await user.should_see('All 3 seats are taken.', retries=20)
    await until(lambda: _false(row_of(user, 'Off').props['enabled']))  # put back
    assert not (await User.get(id=extra.id)).is_enabled


async def test_a_demoted_admin_is_refused_at_the_next_action(user: UserSim) -> None:
    admin = await create_admin()
    other = await create_member(admin, role=Role.ADMIN, name='Other Admin')
    await log_in(user, admin.email)
    other.role = Role.MEMBER
    await other.save()
    await User.filter(id=admin.id).update(role=Role.MEMBER)
    assert await user_list(user).actions.add(UserForm('X', 'x@example.com', 'member')) is None
    await user.should_see('You need administrative rights', retries=20)
    assert not await User.filter(email='x@example.com').exists()


async def test_another_admins_page_updates_live(user: UserSim, create_user) -> None:
    admin = await create_admin()
    second = await create_member(admin, role=Role.ADMIN, name='Second Admin')
    await log_in(user, admin.email)
    other = create_user()
    await log_in(other, second.email)
    await other.should_not_see('Lively Newcomer')
    await open_add_dialog(user)
    fill(user, name='Lively Newcomer', email='lively@example.com')
    click(user, 'Add user')
    await other.should_see('Lively Newcomer', retries=30)
    await other.should_see('3 of 3 seats used', retries=30)


async def test_a_disabled_admins_open_page_is_refused_at_its_next_action(
    user: UserSim, create_user, monkeypatch
) -> None:
    # The push to /login without any action is proven in Chromium (test_browser_users); the simulated user
    # cannot tell which client a navigation belongs to. Here: even a page that missed the push is refused.
    admin = await create_admin()
    second = await create_member(admin, role=Role.ADMIN, name='Second Admin')
    await log_in(user, admin.email)
    other = create_user()
    await log_in(other, second.email)
    switch(user, 'Second Admin')
    await until(lambda: User.filter(id=second.id, is_enabled=False).exists())
    await open_add_dialog(other)
    fill(other, name='Sneaky', email='sneaky@example.com')
    outcomes = _record_outcomes(monkeypatch, UserDirectory, 'add')
    click(other, 'Add user')
    await until(lambda: _true(outcomes))
    assert isinstance(outcomes[0], NotAuthenticated), outcomes  # refused by the service, at its next action
    assert not await User.filter(email='sneaky@example.com').exists()
    await other.open('/admin')  # (which simulated user a push to /login reaches is the simulation's guess)
    await other.should_see('Log in to Portico')


async def test_an_invited_user_sets_a_password_from_the_email_and_logs_in(smtp: Inbox, user: UserSim) -> None:
    admin = await create_admin('Invite Org', name='Ivy Inviter')
    await log_in(user, admin.email)
    await user_list(user).actions.add(UserForm('Ian Invited', 'ian@example.com', Role.ADMIN.value))
    await smtp.wait_for(1)
    mail = smtp.messages[0]
    body = mail.get_body(preferencelist=('plain',)).get_content()
    assert 'Invite Org' in body and 'Ivy Inviter' in body and '72 hours' in body
    [link] = smtp.links('ian@example.com')
    await log_out(user)
    await user.open(link.removeprefix('http://127.0.0.1:8080'))
    user.find('New password').type(NEW_PASSWORD)
    user.find('Confirm password').type(NEW_PASSWORD)
    click(user, 'Set password')
    await user.should_see('Log in to Portico', retries=40)
    await log_in(user, 'ian@example.com', NEW_PASSWORD)
    await user.should_see('Invite Org')
    assert PASSWORD != NEW_PASSWORD

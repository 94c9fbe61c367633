"""The rules of user management, proven on the services: the server refuses what the UI hides."""

import asyncio
from datetime import timedelta

import pytest

from db.models import AuditEvent, PasswordToken, Role, User
from services.auth import LOGIN_FAILED, authenticate, load_user, open_session
from services.billing.mirror import seats_in_use
from services.container import Services
from services.errors import NotAuthenticated, PermissionDenied, RateLimited, ValidationFailed
from services.events import EventBus, session_ended, users_changed
from services.forms import UserForm
from services.mail import Mailer
from services.product_webhooks import ProductWebhooks
from services.settings import Settings
from services.users import SeatsExhausted, UserDirectory, UserQuery
from tests.helpers import PASSWORD, create_admin, create_member, session_of


async def test_an_admin_cannot_disable_delete_or_demote_themself(services: Services) -> None:
    admin = await create_admin()
    await create_member(admin, role=Role.ADMIN)  # another admin exists: only self-protection is at stake
    me = await session_of(admin)
    with pytest.raises(PermissionDenied, match='cannot disable yourself'):
        await services.users.set_enabled(session=me, user_id=admin.id, enabled=False)
    with pytest.raises(PermissionDenied, match='cannot delete yourself'):
        await services.users.delete(session=me, user_id=admin.id)
    with pytest.raises(PermissionDenied, match='cannot change your own role'):
        await services.users.edit(
            session=me, user_id=admin.id, form=UserForm(name=admin.name, email=admin.email, role='member')
        )
    assert (await User.get(id=admin.id)).is_admin


@pytest.mark.parametrize('action', ['demote', 'disable', 'delete'])
async def test_two_admins_acting_on_each_other_at_once_leave_an_enabled_admin(services: Services, action) -> None:
    admin = await create_admin()
    other = await create_member(admin, role=Role.ADMIN, name='Other Admin')

    async def act(actor: User, target: User):
        me = await session_of(actor)
        if action == 'demote':
            demoted = UserForm(name=target.name, email=target.email, role='member')
            return await services.users.edit(session=me, user_id=target.id, form=demoted)
        if action == 'disable':
            return await services.users.set_enabled(session=me, user_id=target.id, enabled=False)
        return await services.users.delete(session=me, user_id=target.id)

    results = await asyncio.gather(act(admin, other), act(other, admin), return_exceptions=True)
    refused = [result for result in results if isinstance(result, Exception)]
    assert len(refused) == 1, results  # the organization lock: the second finds its caller no longer an admin
    assert isinstance(refused[0], PermissionDenied | NotAuthenticated)
    assert await User.filter(organization_id=admin.organization_id, role=Role.ADMIN, is_enabled=True).count() == 1


async def test_last_admin_rule_holds_even_without_self_protection(services: Services) -> None:
    admin = await create_admin()
    other = await create_member(admin, role=Role.ADMIN)
    await services.users.set_enabled(session=await session_of(admin), user_id=other.id, enabled=False)
    await services.users._require_another_enabled_admin(admin.organization_id, other.id)  # admin remains
    with pytest.raises(PermissionDenied, match='at least one enabled admin'):
        await services.users._require_another_enabled_admin(admin.organization_id, admin.id)


async def test_enabled_users_never_exceed_the_seats(services: Services) -> None:
    admin = await create_admin()  # seat 1 of 3
    me = await session_of(admin)
    await services.users.add(session=me, form=UserForm(name='Second', email='second@example.com', role='member'))
    third = (
        await services.users.add(session=me, form=UserForm(name='Third', email='third@example.com', role='member'))
    ).user
    with pytest.raises(SeatsExhausted, match='All 3 seats are taken'):
        await services.users.add(session=me, form=UserForm(name='Fourth', email='fourth@example.com', role='member'))
    assert not await User.filter(email='fourth@example.com').exists()
    await services.users.set_enabled(session=me, user_id=third.id, enabled=False)  # frees a seat
    fourth = (
        await services.users.add(session=me, form=UserForm(name='Fourth', email='fourth@example.com', role='member'))
    ).user
    with pytest.raises(SeatsExhausted):
        await services.users.set_enabled(session=me, user_id=third.id, enabled=True)
    await services.users.delete(session=me, user_id=fourth.id)  # deleting frees a seat too
    await services.users.set_enabled(session=me, user_id=third.id, enabled=True)
    assert await seats_in_use(admin.organization_id) == 3


async def test_the_seat_limit_is_the_trial_allowance_from_settings(db: Settings) -> None:
    from dataclasses import replace

    admin = await create_admin()
    users = UserDirectory(settings=replace(db, trial_seats=5), mailer=Mailer(db), events=EventBus(),
                          product=ProductWebhooks(db))  # fmt: skip
    assert (await users.page(session=await session_of(admin), query=UserQuery())).seat_limit == 5


async def test_resending_is_limited_to_three_per_user_per_hour(services: Services) -> None:
    admin = await create_admin()
    me = await session_of(admin)
    user = (
        await services.users.add(session=me, form=UserForm(name='Ria Resend', email='ria@example.com', role='member'))
    ).user  # 1
    await services.users.resend_password_email(session=me, user_id=user.id)  # 2
    await services.users.resend_password_email(session=me, user_id=user.id)  # 3
    with pytest.raises(RateLimited, match='3 times in the last hour'):
        await services.users.resend_password_email(session=me, user_id=user.id)
    tokens = await PasswordToken.filter(user_id=user.id).order_by('id')
    assert [token.used_at is None for token in tokens] == [False, False, True]  # newer links void older ones
    await PasswordToken.filter(user_id=user.id).update(created_at=tokens[-1].created_at - timedelta(hours=2))
    await services.users.resend_password_email(session=me, user_id=user.id)


async def test_disabling_and_deleting_end_the_users_sessions(services: Services) -> None:
    admin = await create_admin()
    member = await create_member(admin)
    member_session = await open_session(await authenticate(email=member.email, password=PASSWORD))
    ended: list[int] = []
    services.events.subscribe(session_ended(member.id), lambda _: ended.append(member.id))
    await services.users.set_enabled(session=await session_of(admin), user_id=member.id, enabled=False)
    with pytest.raises(NotAuthenticated):
        await load_user(member_session)
    with pytest.raises(ValidationFailed):  # cannot log in while disabled
        await authenticate(email=member.email, password=PASSWORD)
    await services.users.set_enabled(session=await session_of(admin), user_id=member.id, enabled=True)
    member_session = await open_session(await authenticate(email=member.email, password=PASSWORD))
    await services.users.delete(session=await session_of(admin), user_id=member.id)
    with pytest.raises(NotAuthenticated):
        await load_user(member_session)
    with pytest.raises(ValidationFailed, match=LOGIN_FAILED):
        await authenticate(email=member.email, password=PASSWORD)
    assert ended == [member.id, member.id]


async def test_changing_email_or_role_ends_sessions_but_a_name_change_does_not(services: Services) -> None:
    admin = await create_admin()
    member = await create_member(admin)
    me = await session_of(admin)
    session = await open_session(await authenticate(email=member.email, password=PASSWORD))
    await services.users.edit(
        session=me, user_id=member.id, form=UserForm(name='Renamed', email=member.email, role='member')
    )
    assert (await load_user(session)).name == 'Renamed'
    await services.users.edit(
        session=me, user_id=member.id, form=UserForm(name='Renamed', email='new@example.com', role='member')
    )
    with pytest.raises(NotAuthenticated):
        await load_user(session)
    session = await open_session(await authenticate(email='new@example.com', password=PASSWORD))
    await services.users.edit(
        session=me, user_id=member.id, form=UserForm(name='Renamed', email='new@example.com', role='admin')
    )
    with pytest.raises(NotAuthenticated):
        await load_user(session)


async def test_members_and_other_organizations_are_refused(services: Services) -> None:
    admin_a = await create_admin('Org A')
    admin_b = await create_admin('Org B')
    member_a = await create_member(admin_a)
    with pytest.raises(PermissionDenied):
        await services.users.add(
            session=await session_of(member_a), form=UserForm(name='X', email='x@example.com', role='member')
        )
    with pytest.raises(PermissionDenied, match='no longer exists'):
        await services.users.set_enabled(session=await session_of(admin_b), user_id=member_a.id, enabled=False)
    with pytest.raises(PermissionDenied):
        await services.users.delete(session=await session_of(admin_b), user_id=member_a.id)
    page = await services.users.page(session=await session_of(admin_b), query=UserQuery())
    assert [user.email for user in page.rows] == [admin_b.email]
    assert (await User.get(id=member_a.id)).is_enabled


async def test_bad_input_is_refused_per_field_and_nothing_is_written(services: Services) -> None:
    admin = await create_admin()
    me = await session_of(admin)
    await services.users.add(session=me, form=UserForm(name='Taken', email='taken@example.com', role='member'))
    cases = [
        ({'name': '', 'email': 'ok@example.com', 'role': 'member'}, {'name': 'Name is required.'}),
        ({'name': 'x' * 201, 'email': 'ok@example.com', 'role': 'member'}, {'name': 'Name can be at most 200'}),
        ({'name': 'Ok', 'email': 'not-an-email', 'role': 'member'}, {'email': 'Enter a valid email address'}),
        ({'name': 'Ok', 'email': 'a@@example.com', 'role': 'member'}, {'email': 'Enter a valid email address'}),
        ({'name': 'Ok', 'email': 'TAKEN@Example.COM', 'role': 'member'}, {'email': 'already exists'}),
        ({'name': 'Ok', 'email': 'ok@example.com', 'role': 'owner'}, {'role': 'Choose Admin or Member.'}),
    ]
    for values, expected in cases:
        with pytest.raises(ValidationFailed) as failure:
            await services.users.add(session=me, form=UserForm(**values))
        for field, message in expected.items():
            assert message in failure.value.errors[field], (values, failure.value.errors)
    assert await User.filter(organization_id=admin.organization_id).count() == 2


async def test_every_action_is_audited_with_before_and_after(services: Services) -> None:
    admin = await create_admin()
    me = await session_of(admin)
    user = (
        await services.users.add(session=me, form=UserForm(name='Audra', email='audra@example.com', role='member'))
    ).user
    await services.users.edit(
        session=me, user_id=user.id, form=UserForm(name='Audra A.', email=user.email, role='member')
    )
    await services.users.resend_password_email(session=me, user_id=user.id)
    await services.users.set_enabled(session=me, user_id=user.id, enabled=False)
    await services.users.delete(session=me, user_id=user.id)
    events = await AuditEvent.filter(organization_id=admin.organization_id).order_by('id')
    assert [event.action for event in events] == [
        'user.added', 'user.edited', 'user.password_email_sent', 'user.disabled', 'user.deleted',
    ]  # fmt: skip
    edited = events[1]
    assert (edited.before['name'], edited.after['name'], edited.actor_name) == ('Audra', 'Audra A.', admin.name)
    assert events[-1].before['is_enabled'] is False and events[-1].target_label == 'audra@example.com'


async def test_search_sort_and_paging_happen_in_the_database(services: Services) -> None:
    admin = await create_admin(name='Zed Admin')
    for number in range(60):
        await User.create(organization_id=admin.organization_id, name=f'Person {number:02}',
                          email=f'person{number:02}@example.com', is_enabled=False)  # fmt: skip
    me = await session_of(admin)
    first = await services.users.page(session=me, query=UserQuery())
    assert (first.total, len(first.rows), first.pages) == (61, 25, 3)
    assert first.rows[0].name == 'Person 00'
    last = await services.users.page(session=me, query=UserQuery(page=3))
    assert [user.name for user in last.rows][-1] == 'Zed Admin'
    assert (await services.users.page(session=me, query=UserQuery(page=99))).page == 3
    found = await services.users.page(session=me, query=UserQuery(search='PERSON1'))
    assert found.total == 10 and all('1' in user.email for user in found.rows)
    by_email = await services.users.page(session=me, query=UserQuery(sort='email', descending=True, per_page=500))
    assert by_email.per_page == 100 and by_email.rows[0].email == 'person59@example.com'


async def test_changes_are_published_for_open_pages(services: Services) -> None:
    admin = await create_admin()
    seen: list[str] = []
    services.events.subscribe(users_changed(admin.organization_id), lambda _: seen.append('users'))
    await services.users.add(
        session=await session_of(admin), form=UserForm(name='Pub', email='pub@example.com', role='member')
    )
    assert seen == ['users']


async def test_links_last_24_hours_for_a_reset_and_72_for_an_invitation(services: Services, smtp) -> None:
    from dataclasses import replace

    from services.mail import Mailer
    from services.passwords import send_reset_link

    admin = await create_admin()
    invited = (
        await services.users.add(
            session=await session_of(admin), form=UserForm(name='Ivy', email='ivy@example.com', role='member')
        )
    ).user
    mailer = Mailer(replace(services.settings, smtp_host=smtp.host, smtp_port=smtp.port))
    await send_reset_link(email=admin.email, client_address='', mailer=mailer, base_url='http://portico.test')
    for user, hours in ((invited, 72), (admin, 24)):
        token = await PasswordToken.get(user_id=user.id, used_at=None)
        lifetime = token.expires_at - token.created_at
        assert timedelta(hours=hours) - timedelta(seconds=5) < lifetime <= timedelta(hours=hours), (hours, lifetime)


async def test_correcting_an_email_voids_the_links_sent_to_the_old_address(services: Services) -> None:
    from services.passwords import set_password_with_token

    def token_of(sent) -> str:
        return sent.link.rsplit('/', 1)[1]

    admin = await create_admin()
    me = await session_of(admin)
    first = await services.users.add(session=me, form=UserForm(name='Typo', email='tpyo@example.com', role='member'))
    user = first.user
    await services.users.edit(
        session=me, user_id=user.id, form=UserForm(name='Typo', email='typo@example.com', role='member')
    )
    with pytest.raises(ValidationFailed):  # before any new link is sent: the edit itself voided the old one
        await set_password_with_token(token=token_of(first), password=PASSWORD, confirm=PASSWORD)
    again = await services.users.resend_password_email(session=me, user_id=user.id)
    await set_password_with_token(token=token_of(again), password=PASSWORD, confirm=PASSWORD)
    assert await authenticate(email='typo@example.com', password=PASSWORD)


async def test_sorting_by_last_login_puts_who_never_logged_in_last_and_names_match_in_any_case(
    services: Services,
) -> None:
    from services.moments import now

    admin = await create_admin(name='Zoe Admin')
    moment = now()
    for number, minutes in enumerate((30, None, 10, None, 20)):
        await User.create(organization_id=admin.organization_id, name=f'Léa Person {number}',
                          email=f'p{number}@example.com', is_enabled=False,
                          last_login_at=moment - timedelta(minutes=minutes) if minutes else None)  # fmt: skip
    await User.filter(id=admin.id).update(last_login_at=moment)
    me = await session_of(admin)
    newest = await services.users.page(session=me, query=UserQuery(sort='last_login', descending=True))
    assert [user.name for user in newest.rows] == [
        'Zoe Admin', 'Léa Person 2', 'Léa Person 4', 'Léa Person 0', 'Léa Person 3', 'Léa Person 1',
    ]  # fmt: skip
    for descending in (False, True):  # page by page, across the edge between logged-in and never
        whole = await services.users.page(session=me, query=UserQuery(sort='last_login', descending=descending))
        paged = []
        for number in (1, 2, 3):
            query = UserQuery(sort='last_login', descending=descending, page=number, per_page=2)
            paged += (await services.users.page(session=me, query=query)).rows
        assert [user.id for user in paged] == [user.id for user in whole.rows]
    oldest = await services.users.page(session=me, query=UserQuery(sort='last_login'))
    assert [user.name for user in oldest.rows] == [
        'Léa Person 0', 'Léa Person 4', 'Léa Person 2', 'Zoe Admin', 'Léa Person 1', 'Léa Person 3',
    ]  # fmt: skip
    found = await services.users.page(session=me, query=UserQuery(search='PERSON 3'))
    assert [user.name for user in found.rows] == ['Léa Person 3']
    found = await services.users.page(session=me, query=UserQuery(search='LÉA PERSON'))  # beyond A to Z, too
    assert found.total == 5
    renamed = UserForm(name='Jürgen Straße', email='js@example.com', role='member')
    await services.users.edit(session=me, user_id=found.rows[0].id, form=renamed)
    found = await services.users.page(session=me, query=UserQuery(search='STRASSE'))
    assert [user.name for user in found.rows] == ['Jürgen Straße']


async def test_the_activity_shows_the_latest_50_events_newest_first(services: Services) -> None:
    from services import audit

    admin = await create_admin()
    for number in range(60):
        await audit.record(actor=admin, action='user.edited', target_type='user', target_label=f'user {number}')
    latest = await audit.latest(organization_id=admin.organization_id)
    assert [event.target_label for event in latest] == [f'user {number}' for number in range(59, 9, -1)]

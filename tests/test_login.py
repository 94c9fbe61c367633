"""Logging in and out, the lock-out, access rules and the first-run setup, through NiceGUI's simulated user."""

import asyncio
from datetime import timedelta

import pytest
from nicegui import ui
from nicegui.testing import User as UserSim

from db.models import LoginThrottle, Organization, Role, User
from services import auth
from services.auth import LOCKED_OUT, LOGIN_FAILED
from services.errors import RateLimited, ValidationFailed
from services.moments import now
from tests.helpers import PASSWORD, click, create_admin, create_member, log_in, log_out


async def test_admin_logs_in_and_sees_the_portal(user: UserSim) -> None:
    admin = await create_admin('Acme Corp')
    await log_in(user, admin.email)
    await user.should_see('Acme Corp')
    await user.should_see('Organization')
    await log_out(user)
    await user.open('/admin')
    await user.should_see('Log in to Portico')


async def test_email_is_matched_regardless_of_case(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email.upper())


async def test_wrong_password_and_unknown_email_get_the_same_message(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email, 'not the password', expect=LOGIN_FAILED)
    await log_in(user, 'nobody@example.com', PASSWORD, expect=LOGIN_FAILED)
    await user.should_not_see('Administration portal')


async def test_an_empty_login_form_says_which_field_is_missing_and_counts_no_failure(user: UserSim) -> None:
    """Issue 14, point 14."""
    admin = await create_admin()
    await user.open('/login')
    click(user, 'Log in')
    await user.should_see('Enter your email address.', retries=20)
    await user.should_see('Enter your password.')
    user.find('Email').type(admin.email)
    click(user, 'Log in')
    await user.should_see('Enter your password.', retries=20)
    await user.should_not_see('Enter your email address.')
    assert not await LoginThrottle.exists(email=admin.email)  # nothing was checked, so nothing counts


async def test_five_failures_lock_the_email_for_fifteen_minutes(user: UserSim) -> None:
    admin = await create_admin()
    for _ in range(5):
        await log_in(user, admin.email, 'wrong password!', expect=LOGIN_FAILED)
    await log_in(user, admin.email, PASSWORD, expect=LOCKED_OUT)
    throttle = await LoginThrottle.get(email=admin.email)
    assert throttle.locked_until - now() > timedelta(minutes=14)
    throttle.locked_until = now() - timedelta(seconds=1)
    await throttle.save()
    await log_in(user, admin.email, PASSWORD)


async def test_parallel_guesses_cannot_slip_past_the_limit(db) -> None:
    admin = await create_admin()
    guesses = [f'guess number {n}' for n in range(19)] + [PASSWORD]
    results = await asyncio.gather(
        *(auth.authenticate(email=admin.email, password=guess) for guess in guesses), return_exceptions=True
    )
    checked = [result for result in results if not isinstance(result, RateLimited)]
    assert len(checked) <= 5, results  # only the allowance was ever checked against the hash
    assert all(isinstance(result, ValidationFailed | User) for result in checked), results
    if not any(isinstance(result, User) for result in checked):
        with pytest.raises(RateLimited):
            await auth.authenticate(email=admin.email, password=PASSWORD)


async def test_parallel_correct_logins_of_one_admin_all_succeed(db) -> None:
    admin = await create_admin()
    for _ in range(4):  # four failures already: one more would lock
        with pytest.raises(ValidationFailed):
            await auth.authenticate(email=admin.email, password='wrong password!')
    users = await asyncio.gather(*(auth.authenticate(email=admin.email, password=PASSWORD) for _ in range(10)))
    assert {user.id for user in users} == {admin.id}
    assert not await LoginThrottle.exists(email=admin.email)


async def test_failures_spread_over_the_window_edge_still_lock(db, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five failures within 15 minutes of each other lock, even when the first run of them began earlier."""
    admin = await create_admin()
    start = now()
    for minute in (0, 10, 17, 20, 24):  # 17 is more than 15 after 0, but every gap is under 15 minutes
        monkeypatch.setattr(auth, 'now', lambda minute=minute: start + timedelta(minutes=minute))
        with pytest.raises(ValidationFailed):
            await auth.authenticate(email=admin.email, password='wrong password!')
    with pytest.raises(RateLimited):
        await auth.authenticate(email=admin.email, password=PASSWORD)
    # After a quiet quarter of an hour the count starts again, and a correct password clears it.
    monkeypatch.setattr(auth, 'now', lambda: start + timedelta(minutes=24 + 16))
    await auth.authenticate(email=admin.email, password=PASSWORD)
    assert not await LoginThrottle.exists(email=admin.email)


async def test_a_member_is_refused(user: UserSim) -> None:
    admin = await create_admin('Secret Org')
    member = await create_member(admin)
    await log_in(user, member.email, expect='You need administrative rights to open the administration portal.')
    await user.should_not_see('Edit organization')  # nothing of the portal itself
    # Issue 14, point 14: the refusal names the member, and whom of their own organization to ask.
    await user.should_see(f'{member.name}, you are a member of Secret Org. You need administrative rights')
    await user.should_see(f'{admin.name} ({admin.email})')
    gone = await create_member(admin, role=Role.ADMIN, name='Gone Admin', email='gone@example.com')
    await User.filter(id=gone.id).update(is_enabled=False)
    await user.open('/admin')
    await user.should_see(f'{admin.name} ({admin.email})')
    await user.should_not_see('Gone Admin')  # disabled admins cannot help


async def test_a_disabled_admin_cannot_log_in(user: UserSim) -> None:
    admin = await create_admin()
    second = await create_member(admin, role=Role.ADMIN)
    second.is_enabled = False
    await second.save()
    await log_in(user, second.email, expect='This account is disabled')


async def test_anonymous_visitor_is_sent_to_login(user: UserSim) -> None:
    await create_admin()
    await user.open('/admin')
    await user.should_see('Log in to Portico')
    await user.should_not_see('Organization')


async def test_setup_exists_only_until_the_first_organization(user: UserSim) -> None:
    await user.open('/login')
    await user.should_see('Set up Portico')
    user.find('Organization name').type('Fresh Org')
    user.find('Your name').type('Fay First')
    user.find('Email').type('fay@example.com')
    user.find('Password').type('short')
    click(user, 'Create organization')
    await user.should_see('Use at least 10 characters.', retries=20)
    assert not await Organization.exists()
    user.find('Password').type(' but longer now')
    click(user, 'Create organization')
    await user.should_see('Administration portal', retries=40)
    await user.should_see('Fresh Org')
    first = await User.get(email='fay@example.com')
    assert first.last_login_at is not None  # issue 14, point 7: the new admin's row shows this login, not "Never"
    await user.open('/setup')
    await user.should_see('Log in to Portico')


async def test_two_setup_forms_sent_at_once_create_one_organization(db) -> None:
    from services.errors import PermissionDenied
    from services.organizations import NewAdmin, create_first_organization

    forms = [NewAdmin(f'Org {n}', f'Admin {n}', f'admin{n}@example.com', PASSWORD) for n in range(2)]
    results = await asyncio.gather(*(create_first_organization(form) for form in forms), return_exceptions=True)
    assert sorted(type(result).__name__ for result in results) == ['PermissionDenied', 'User'], results
    assert any(isinstance(result, PermissionDenied) for result in results)
    assert await Organization.all().count() == 1


async def test_help_without_a_login_shows_no_name_and_no_log_out(user: UserSim) -> None:
    await create_admin()
    await user.open('/help')
    await user.should_see('Portico administrator guide')
    # Not "should_not_see('Log out')": the guide itself speaks of that button.
    assert not [element for element in user.client.elements.values()
                if isinstance(element, ui.button) and element.text == 'Log out']  # fmt: skip

"""Logging in and out, the lock-out, access rules and the first-run setup, through NiceGUI's simulated user."""

from datetime import timedelta

from nicegui.testing import User as UserSim

from db.models import LoginThrottle, Organization, Role
from services.auth import LOCKED_OUT, LOGIN_FAILED, now
from tests.helpers import PASSWORD, click, create_admin, create_member, log_in


async def test_admin_logs_in_and_sees_the_portal(user: UserSim) -> None:
    admin = await create_admin('Acme Corp')
    await log_in(user, admin.email)
    await user.should_see('Acme Corp')
    await user.should_see('Organization')
    click(user, 'Log out')
    await user.should_see('Log in to Portico', retries=20)
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


async def test_a_member_is_refused(user: UserSim) -> None:
    admin = await create_admin('Secret Org')
    member = await create_member(admin)
    await log_in(user, member.email, expect='You need administrative rights to open the administration portal.')
    await user.should_not_see('Secret Org')
    await user.should_not_see('Edit organization')


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
    await user.open('/setup')
    await user.should_see('Log in to Portico')

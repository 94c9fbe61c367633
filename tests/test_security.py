"""Security hardening without a browser: no link is kept, limits on floods, session lifetimes, headers, bad input."""

import asyncio
import logging
import os
import stat
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from nicegui.testing import User as UserSim

from db.models import LoginSession, LoginThrottle, OutboxMail, PasswordToken, RateHit, User
from services import auth, passwords
from services.auth import (
    ADDRESS_LOCKED_OUT,
    MAX_FAILED_LOGINS_PER_ADDRESS,
    authenticate,
    load_user,
    open_session,
    touch_session,
)
from services.container import Services
from services.demo import RealUsersPresent, seed_demo
from services.errors import NotAuthenticated, PermissionDenied, RateLimited, ValidationFailed
from services.forms import UserForm
from services.mail import Mailer
from services.moments import now
from services.passwords import send_reset_link, valid_token
from services.settings import Settings, SettingsError
from tests.conftest import ROOT, Inbox, LiveServer, free_port
from tests.helpers import PASSWORD, click, create_admin, create_member, log_in, random_email, session_of

# --- Links: never in the outbox or the log; shown once to the acting admin; `password-link` for the operator


async def test_an_invitation_and_a_reset_without_smtp_leave_no_token_in_the_log_or_the_outbox(
    user: UserSim, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = await create_admin('Quiet Org')
    await log_in(user, admin.email)
    click(user, '+ Add user')
    await user.should_see('Add user')
    user.find(marker='user-name').elements.pop().value = 'Ivo Invited'
    user.find(marker='user-email').elements.pop().value = 'ivo@example.com'
    click(user, 'Add user')
    await user.should_see('Copy link', retries=20)
    [shown] = user.find(marker='password-link').elements
    token = shown.value.rsplit('/', 1)[1]
    assert await valid_token(token) is not None  # the link shown works...

    await user.open('/forgot-password')
    user.find('Email').type(admin.email)
    click(user, 'Send reset link')
    await user.should_see('a reset link is on its way', retries=20)
    await _until(lambda: OutboxMail.filter(recipient=admin.email).exists())

    kept = ''.join(f'{mail.recipient}{mail.subject}{mail.text}{mail.html}' for mail in await OutboxMail.all())
    logged = '\n'.join(record.getMessage() for record in caplog.records)
    assert 'ivo@example.com' in kept and admin.email in kept  # ...while the outbox keeps who and what
    assert token not in kept and token not in logged and '/set-password/' not in kept + logged
    assert not await PasswordToken.exists(user_id=admin.id)  # a reset without SMTP makes no link at all


async def test_password_link_prints_a_working_link_and_refuses_unknown_or_disabled_users(db: Settings) -> None:
    admin = await create_admin('Shell Org')
    member = await create_member(admin)
    pending = await passwords.issue_password_token(member, purpose='invite', ttl=passwords.INVITE_LINK_TTL)
    result = _cli(db, 'password-link', member.email.upper())
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link.startswith(f'{db.base_url}/set-password/')
    assert await valid_token(link.rsplit('/', 1)[1]) is not None
    assert await valid_token(pending) is None  # the operator's fresh link replaces what was sent before
    refused = _cli(db, 'password-link', 'nobody@example.com')
    assert refused.returncode == 2 and refused.stderr.count('\n') == 1 and 'No user' in refused.stderr
    with pytest.raises(ValidationFailed, match='No user'):
        await passwords.operator_link(email='not an email', base_url=db.base_url)
    await User.filter(id=member.id).update(is_enabled=False)
    with pytest.raises(PermissionDenied, match='disabled'):
        await passwords.operator_link(email=member.email, base_url=db.base_url)


async def test_a_reset_request_answers_before_the_mail_is_sent(slow_smtp: Inbox, user: UserSim) -> None:
    admin = await create_admin()
    await user.open('/forgot-password')
    user.find('Email').type(admin.email)
    started = time.monotonic()
    click(user, 'Send reset link')
    await user.should_see('a reset link is on its way', retries=20)
    answered = time.monotonic() - started
    assert slow_smtp.messages == [] and answered < SLOW_SMTP_SECONDS  # the answer did not wait for the mail
    await slow_smtp.wait_for(1, seconds=10)


async def test_reset_requests_are_limited_per_email_and_per_address(db: Settings, smtp: Inbox, caplog) -> None:
    mailer = Mailer(replace(db, smtp_host=smtp.host, smtp_port=smtp.port))
    admin = await create_admin()
    for _ in range(5):
        await send_reset_link(email=admin.email, client_address='198.51.100.1', mailer=mailer, base_url=db.base_url)
    assert len(smtp.messages) == passwords.MAX_RESETS_PER_EMAIL
    assert sum('password reset refused' in record.getMessage() for record in caplog.records) == 2
    for number in range(passwords.MAX_RESETS_PER_ADDRESS + 5):  # a flood of addresses from one client
        await send_reset_link(email=f'x{number}@example.com', client_address='198.51.100.2', mailer=mailer,
                              base_url=db.base_url)  # fmt: skip
    counted = await RateHit.filter(scope='reset-address', key='198.51.100.2').count()
    assert counted == passwords.MAX_RESETS_PER_ADDRESS


async def test_a_reset_never_voids_a_pending_link_it_did_not_replace_with_a_sent_one(db: Settings, smtp) -> None:
    admin = await create_admin()
    member = await create_member(admin)
    invitation = await passwords.issue_password_token(member, purpose='invite', ttl=passwords.INVITE_LINK_TTL)
    broken = Mailer(replace(db, smtp_host='127.0.0.1', smtp_port=free_port()))  # nothing listens there
    with pytest.raises(OSError):
        await send_reset_link(email=member.email, client_address='', mailer=broken, base_url=db.base_url)
    assert await valid_token(invitation) is not None
    assert await PasswordToken.filter(user_id=member.id).count() == 1  # the unsent link was withdrawn
    unconfigured = Mailer(db)  # no SMTP: the outbox notes the request, and the invitation keeps working
    await send_reset_link(email=member.email, client_address='', mailer=unconfigured, base_url=db.base_url)
    assert await valid_token(invitation) is not None
    working = Mailer(replace(db, smtp_host=smtp.host, smtp_port=smtp.port))
    await send_reset_link(email=member.email, client_address='', mailer=working, base_url=db.base_url)
    assert await valid_token(invitation) is None  # replaced by a link that was really sent
    assert await valid_token(smtp.links(member.email)[0].rsplit('/', 1)[1]) is not None


# --- Logins: limited per client address too, and at most one password hash per core at a time


async def test_failed_logins_from_one_address_are_limited_whatever_the_emails(db: Settings) -> None:
    admin = await create_admin()
    results = await asyncio.gather(
        *(authenticate(email=random_email(), password='guess', client_address='203.0.113.9') for _ in range(50)),
        return_exceptions=True,
    )
    refused = [result for result in results if isinstance(result, RateLimited)]
    checked = [result for result in results if isinstance(result, ValidationFailed)]
    assert len(checked) == MAX_FAILED_LOGINS_PER_ADDRESS and len(refused) == 50 - len(checked), results
    with pytest.raises(RateLimited, match=ADDRESS_LOCKED_OUT):  # even the right password, from that address
        await authenticate(email=admin.email, password=PASSWORD, client_address='203.0.113.9')
    assert (await authenticate(email=admin.email, password=PASSWORD, client_address='203.0.113.10')).id == admin.id


async def test_right_passwords_give_their_address_attempt_back(db: Settings) -> None:
    admin = await create_admin()
    for _ in range(MAX_FAILED_LOGINS_PER_ADDRESS + 1):  # an office behind one address, logging in all day
        await authenticate(email=admin.email, password=PASSWORD, client_address='203.0.113.20')
    assert not await RateHit.exists(key='203.0.113.20')


async def test_no_more_password_hashes_run_at_once_than_there_are_cores(db: Settings, monkeypatch) -> None:
    running, most = 0, 0
    verify = passwords._passwords.verify

    def counting_verify(*args):
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            return verify(*args)
        finally:
            running -= 1

    monkeypatch.setattr(passwords._passwords, 'verify', counting_verify)
    await asyncio.gather(*(authenticate(email=random_email(), password='x') for _ in range(12)), return_exceptions=True)
    assert most == min(12, passwords.HASHING_SLOTS), most


async def test_counts_whose_window_is_over_are_removed(db: Settings) -> None:
    old, fresh = now() - timedelta(hours=2), now()
    await LoginThrottle.create(email='old@example.com', failures=3, window_start=old)
    await LoginThrottle.create(email='fresh@example.com', failures=1, window_start=fresh)
    await LoginThrottle.create(email='locked@example.com', failures=5, window_start=old, locked_until=fresh + LOCK)
    await RateHit.create(scope='login-address', key='192.0.2.1', at=old)
    await RateHit.create(scope='login-address', key='192.0.2.1', at=fresh)
    assert await auth.prune_throttles() == 2
    assert {row.email for row in await LoginThrottle.all()} == {'fresh@example.com', 'locked@example.com'}
    assert [hit.at for hit in await RateHit.all()] == [fresh]


LOCK = timedelta(minutes=5)


# --- Sessions: idle and absolute lifetimes, logout everywhere, and a POST for it


async def test_a_session_ends_after_its_idle_time_and_after_its_maximum_age(db: Settings, monkeypatch) -> None:
    admin = await create_admin()
    start = now()
    session = await open_session(admin, idle=timedelta(hours=12), max_age=timedelta(days=14))
    for hours in range(11, 14 * 24, 11):  # a request every 11 hours keeps it alive, for 14 days at most
        monkeypatch.setattr(auth, 'now', lambda hours=hours: start + timedelta(hours=hours))
        await load_user(session)
        await touch_session(session, idle=timedelta(hours=12))
    monkeypatch.setattr(auth, 'now', lambda: start + timedelta(days=14, minutes=1))
    with pytest.raises(NotAuthenticated):
        await load_user(session)

    monkeypatch.undo()
    idle = await open_session(admin, idle=timedelta(hours=12))
    monkeypatch.setattr(auth, 'now', lambda: now() + timedelta(hours=12, minutes=1))
    with pytest.raises(NotAuthenticated):
        await load_user(idle)


def test_session_lifetimes_and_trusted_proxies_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {'SESSION_IDLE_HOURS': '2', 'SESSION_MAX_DAYS': '1', 'FORWARDED_ALLOW_IPS': '10.0.0.0/8'}
    )
    assert settings.session_idle == timedelta(hours=2) and settings.session_max_age == timedelta(days=1)
    assert settings.forwarded_allow_ips == '10.0.0.0/8'
    defaults = Settings.from_env({})
    assert defaults.session_idle == timedelta(hours=12) and defaults.session_max_age == timedelta(days=14)
    assert defaults.forwarded_allow_ips == '127.0.0.1'
    for env in ({'SESSION_IDLE_HOURS': '0'}, {'SESSION_MAX_DAYS': 'a week'}, {'FORWARDED_ALLOW_IPS': 'proxy.lan'}):
        with pytest.raises(SettingsError):
            Settings.from_env(env)


async def test_logout_is_a_post_with_the_pages_token_and_ends_the_session(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email)
    [session] = await LoginSession.filter(user_id=admin.id, ended_at=None, key_digest__not_isnull=True)
    assert (await user.http_client.get('/logout')).status_code == 405  # a link or an <img> cannot log anyone out
    forged = await user.http_client.post('/logout', data={'csrf': 'not the token'})
    assert forged.status_code == 303 and (await LoginSession.get(id=session.id)).ended_at is None
    [token] = [e.props['value'] for e in user.client.elements.values() if e.props.get('name') == 'csrf']
    await user.http_client.post('/logout', data={'csrf': token})
    assert (await LoginSession.get(id=session.id)).ended_at is not None
    await user.should_see('Log in to Portico', retries=40)  # the open page left at once


# --- Names, headers, bodies


@pytest.mark.parametrize('name', ['Eve\u202egnp.exe', 'Mallory\u2066Admin\u2069', 'Bo\x85b', 'Tab\tbed', 'Del\x7f'])
async def test_names_refuse_control_characters_and_direction_overrides(services: Services, name: str) -> None:
    admin = await create_admin()
    with pytest.raises(ValidationFailed, match='control characters or text-direction overrides'):
        await services.users.add(
            session=await session_of(admin), form=UserForm(name=name, email='n@example.com', role='member')
        )
    assert not await User.exists(email='n@example.com')
    unicode = UserForm(name='Zoë Ünïcode-Łódź 李', email='z@example.com', role='member')
    assert (await services.users.add(session=await session_of(admin), form=unicode)).user.name == 'Zoë Ünïcode-Łódź 李'


async def test_every_response_carries_the_security_headers(user: UserSim) -> None:
    for path in ('/login', '/stripe/webhook', '/no/such/page', '/emulator/stripe/v1/customers'):
        response = await user.http_client.get(path)
        headers = response.headers
        assert headers['x-frame-options'] == 'DENY', path
        assert headers['referrer-policy'] == 'no-referrer', path
        assert headers['x-content-type-options'] == 'nosniff', path
        assert "frame-ancestors 'none'" in headers['content-security-policy'], path
        assert 'strict-transport-security' not in headers, path  # BASE_URL is http here


async def test_the_webhook_refuses_a_body_over_one_mebibyte_before_reading_it(user: UserSim) -> None:
    await user.open('/login')  # starts the app
    big = b'{"id": "evt_x", "padding": "' + b'x' * (1024 * 1024) + b'"}'
    assert (await user.http_client.post('/stripe/webhook', content=big)).status_code == 413

    async def chunks():  # no Content-Length: the limit holds while streaming, too
        for _ in range(40):
            yield b'x' * 32768

    assert (await user.http_client.post('/stripe/webhook', content=chunks())).status_code == 413
    assert (await user.http_client.post('/stripe/webhook', content=b'{}')).status_code == 400  # unsigned, small


async def test_the_test_mode_badge_says_that_no_money_moves(user: UserSim) -> None:
    await create_admin()
    await user.open('/login')
    await user.should_see('no money moves and no card is charged')


# --- Files, the cookie and the warnings of a real start


async def test_data_dir_is_0700_and_every_file_in_it_0600_even_after_a_wide_install(portico_env: Settings) -> None:
    data = portico_env.data_dir
    (data / 'old').mkdir(parents=True)
    (data / 'old' / 'backup.sqlite3').write_text('x')
    os.chmod(data, 0o755)  # noqa: S103 - an older installation's wide modes
    os.chmod(data / 'old', 0o755)  # noqa: S103
    os.chmod(data / 'old' / 'backup.sqlite3', 0o644)
    _cli(portico_env, 'migrate', DATABASE_URL=f'sqlite://{data / "portico.sqlite3"}')
    assert _modes(data) and all(mode == (0o700 if path.is_dir() else 0o600) for path, mode in _modes(data).items())


def test_a_served_portal_writes_only_private_files(live_server: LiveServer) -> None:
    httpx.get(f'{live_server.url}/login')
    created = live_server.cli('create-admin', '--organization', 'O', '--name', 'N', '--email', 'n@example.com',
                              '--password', '-', stdin=PASSWORD + '\n')  # fmt: skip
    assert created.returncode == 0
    data = Path(live_server.env['DATA_DIR'])
    modes = _modes(data)
    assert any(path.name == 'stripe-emulator-key' for path in modes) and any('sqlite3' in p.name for p in modes)
    wrong = {str(path): oct(mode) for path, mode in modes.items() if mode != (0o700 if path.is_dir() else 0o600)}
    assert stat.S_IMODE(data.stat().st_mode) == 0o700 and not wrong, wrong


@pytest.fixture
def public_https(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('BASE_URL', 'https://portal.example.com')


def test_behind_https_the_cookie_is_secure_hsts_is_sent_and_offline_billing_warns(
    public_https, live_server: LiveServer, tmp_path: Path
) -> None:
    response = httpx.get(f'{live_server.url}/login')
    attributes = {attribute.strip() for attribute in response.headers['set-cookie'].lower().split(';')}
    assert {'secure', 'httponly', 'samesite=lax', 'max-age=1209600'} <= attributes  # 14 days: SESSION_MAX_DAYS
    assert response.headers['strict-transport-security'].startswith('max-age=')
    log = (tmp_path / 'server.log').read_text()
    assert 'Billing is offline' in log and 'for trials and demos' in log


def test_on_loopback_offline_billing_does_not_warn(live_server: LiveServer, tmp_path: Path) -> None:
    cookie = httpx.get(f'{live_server.url}/login').headers['set-cookie'].lower()
    assert 'secure' not in {attribute.strip() for attribute in cookie.split(';')}
    assert 'Billing is offline' not in (tmp_path / 'server.log').read_text()


def test_create_admin_warns_about_a_password_in_the_process_list(portico_env: Settings) -> None:
    args = ('create-admin', '--organization', 'W', '--name', 'W', '--email', 'w@example.com')
    shown = _cli(portico_env, *args, '--password', PASSWORD)
    assert shown.returncode == 0 and 'process list' in shown.stderr and '--password -' in shown.stderr
    hidden = _cli(portico_env, *args, '--password', '-', stdin=PASSWORD + '\n')
    assert hidden.returncode == 0 and hidden.stderr == ''


async def test_seed_demo_refuses_an_organization_with_real_users_and_never_makes_real_admins(
    db: Settings,
) -> None:
    await create_admin('Real Co', email='founder@realco.com')
    refused = _cli(db, 'seed-demo', '--users', '5', '--organization', 'Real Co')
    assert refused.returncode == 2 and 'real users' in refused.stderr and '--force' in refused.stderr
    assert await User.filter(organization__name='Real Co').count() == 1
    with pytest.raises(RealUsersPresent):
        await seed_demo(users=5, seat_limit=3, organization_name='Real Co')
    await seed_demo(users=200, seat_limit=3, organization_name='Real Co', force=True)
    made = await User.filter(organization__name='Real Co').exclude(email='founder@realco.com')
    assert len(made) == 200 and all(user.email.endswith('@real-co.example.com') for user in made)
    demo = await seed_demo(users=50, seat_limit=3, organization_name='Demo Co')
    assert demo.admin_email == 'admin@demo-co.example.com'
    await seed_demo(users=50, seat_limit=3, organization_name='Demo Co')  # its own users are not "real" ones
    assert await User.filter(organization__name='Demo Co').count() == 101


# --- helpers

SLOW_SMTP_SECONDS = 2.0


@pytest.fixture
def slow_smtp(monkeypatch: pytest.MonkeyPatch):
    """An SMTP server that takes SLOW_SMTP_SECONDS to accept each message."""
    from aiosmtpd.controller import Controller

    messages: list = []

    class Slow:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            await asyncio.sleep(SLOW_SMTP_SECONDS)
            messages.append(envelope)
            return '250 OK'

    port = free_port()
    controller = Controller(Slow(), hostname='127.0.0.1', port=port)
    controller.start()
    monkeypatch.setenv('SMTP_HOST', '127.0.0.1')
    monkeypatch.setenv('SMTP_PORT', str(port))
    yield Inbox('127.0.0.1', port, messages)
    controller.stop()


def _cli(settings: Settings, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, 'DATA_DIR': str(settings.data_dir), 'DATABASE_URL': settings.database_url, **env}
    environment.pop('NICEGUI_USER_SIMULATION', None)
    return subprocess.run(
        [sys.executable, 'main.py', *args], cwd=ROOT, env=environment, input=stdin, capture_output=True, text=True
    )


def _modes(folder: Path) -> dict[Path, int]:
    return {path: stat.S_IMODE(path.stat().st_mode) for path in [folder, *folder.rglob('*')]}


async def _until(condition, attempts: int = 100) -> None:
    for _ in range(attempts):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError('condition not met')


async def test_a_cardholder_name_refuses_direction_overrides_too(services: Services, emulator_app) -> None:
    from tests.billing_helpers import subscribed

    admin = await subscribed(services, emulator_app, plan='starter', seats=1)
    me = await session_of(admin)
    [card] = await services.billing.payment_methods.cards(session=me)
    values = {'exp_month': 12, 'exp_year': card.exp_year, 'name': 'Pat \u202eyaP'}
    with pytest.raises(ValidationFailed) as refused:
        await services.billing.payment_methods.update(session=me, card_id=card.id, values=values)
    assert 'text-direction overrides' in refused.value.errors['name']
    assert (await services.billing.payment_methods.cards(session=me))[0].name == card.name

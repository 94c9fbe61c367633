"""Password links through a real SMTP server, and sessions that end when the password changes elsewhere."""

import asyncio
import logging
from datetime import timedelta

import pytest
from nicegui.testing import User as UserSim

from db.models import OutboxMail, PasswordToken, User
from services.errors import ValidationFailed
from services.moments import now
from services.passwords import issue_password_token, retire_older_tokens, set_password_with_token, valid_token
from tests.conftest import Inbox
from tests.helpers import PASSWORD, click, create_admin, log_in

NEW_PASSWORD = 'a brand new passphrase'


async def test_forgot_password_through_smtp_to_a_new_login(smtp: Inbox, user: UserSim) -> None:
    admin = await create_admin('Mail Org')
    await user.open('/forgot-password')
    user.find('Email').type(admin.email)
    click(user, 'Send reset link')
    await user.should_see('a reset link is on its way', retries=20)
    await smtp.wait_for(1)
    message = smtp.messages[0]
    assert 'Mail Org' in message['Subject']
    assert 'Mail Org' in message.get_body(preferencelist=('html',)).get_content()
    [link] = smtp.links(admin.email)
    assert link.startswith('http://127.0.0.1:8080/set-password/')  # BASE_URL's default
    await user.open(link.removeprefix('http://127.0.0.1:8080'))
    user.find('New password').type(NEW_PASSWORD)
    user.find('Confirm password').type(NEW_PASSWORD)
    click(user, 'Set password')
    await user.should_see('Log in to Portico', retries=40)
    await user.should_see('Your password is set. Log in.')  # issue 14, point 7: said once, the email filled in
    [email] = user.find('Email').elements
    assert email.value == admin.email
    await user.open('/login')
    await user.should_not_see('Your password is set. Log in.')
    await log_in(user, admin.email, PASSWORD, expect='Wrong email or password.')
    await log_in(user, admin.email, NEW_PASSWORD)
    await user.open(link.removeprefix('http://127.0.0.1:8080'))
    await user.should_see('This link is invalid or has expired.')


async def test_unknown_email_gets_the_same_answer_and_no_mail(smtp: Inbox, user: UserSim) -> None:
    await create_admin()
    await user.open('/forgot-password')
    user.find('Email').type('nobody@example.com')
    click(user, 'Send reset link')
    await user.should_see('a reset link is on its way', retries=20)
    assert smtp.messages == []


async def test_without_smtp_the_outbox_and_the_log_note_the_request_but_hold_no_link(user: UserSim, caplog) -> None:
    caplog.set_level(logging.INFO, logger='portico.mail')
    admin = await create_admin()
    await user.open('/forgot-password')
    await user.should_see('python main.py password-link YOUR-EMAIL')  # the way without mail, naming no account
    user.find('Email').type(admin.email)
    click(user, 'Send reset link')
    await user.should_see('a reset link is on its way', retries=20)
    for _ in range(50):
        if mail := await OutboxMail.get_or_none(recipient=admin.email):
            break
        await asyncio.sleep(0.05)
    assert mail.subject == 'Reset your Portico password for Acme Corp' and mail.created_at
    assert '/set-password/' not in mail.text + mail.html
    assert any(admin.email in record.getMessage() for record in caplog.records)
    assert not any('/set-password/' in record.getMessage() for record in caplog.records)
    assert not await PasswordToken.exists(user_id=admin.id)  # nobody could receive it: no link was made


async def test_passwords_must_match_and_be_long_enough(db) -> None:
    admin = await create_admin()
    token = await issue_password_token(admin, purpose='reset', ttl=timedelta(hours=24))
    with pytest.raises(ValidationFailed) as short:
        await set_password_with_token(token=token, password='short', confirm='short')
    assert short.value.errors == {'password': 'Use at least 10 characters.'}
    with pytest.raises(ValidationFailed) as long:
        await set_password_with_token(token=token, password='x' * 257, confirm='x' * 257)
    assert long.value.errors == {'password': 'Use at most 256 characters.'}
    with pytest.raises(ValidationFailed) as mismatch:
        await set_password_with_token(token=token, password=NEW_PASSWORD, confirm=NEW_PASSWORD + '!')
    assert mismatch.value.errors == {'confirm': 'The two passwords do not match.'}
    assert await valid_token(token) is not None  # refusals do not use the link up


async def test_tokens_are_hashed_single_use_expiring_and_replaced_by_newer_ones(db) -> None:
    admin = await create_admin()
    older = await issue_password_token(admin, purpose='reset', ttl=timedelta(hours=24))
    newer = await issue_password_token(admin, purpose='reset', ttl=timedelta(hours=24))
    assert not await PasswordToken.filter(token_hash__in=[older, newer]).exists()  # only digests are stored
    assert await valid_token(older) is not None  # until the newer one is handed over
    await retire_older_tokens(admin.id, keep=newer)
    assert await valid_token(older) is None
    await set_password_with_token(token=newer, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    with pytest.raises(ValidationFailed):
        await set_password_with_token(token=newer, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    expiring = await issue_password_token(admin, purpose='reset', ttl=timedelta(hours=24))
    await PasswordToken.filter(used_at=None).update(expires_at=now() - timedelta(seconds=1))
    assert await valid_token(expiring) is None


async def test_a_second_session_ends_at_its_next_action_after_a_password_change(user: UserSim, create_user) -> None:
    admin = await create_admin('Epoch Org')
    await log_in(user, admin.email)
    other = create_user()
    await log_in(other, admin.email)
    token = await issue_password_token(await User.get(id=admin.id), purpose='reset', ttl=timedelta(hours=1))
    await set_password_with_token(token=token, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    # The page is still open in `other`; its next action is refused and sends it to /login.
    other.find(marker='edit-organization').click()
    await other.should_see('Save')
    other.find(marker='organization-city').elements.pop().value = 'Changed'
    click(other, 'Save')
    await other.should_see('Log in to Portico', retries=40)
    await user.open('/admin')
    await user.should_see('Log in to Portico')
    assert (await User.get(id=admin.id).prefetch_related('organization')).organization.city == ''

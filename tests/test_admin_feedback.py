"""What an admin sees after a change, through the simulated user: every figure follows the same change event."""

from datetime import timedelta

from nicegui import ui
from nicegui.testing import User as UserSim

from components.user_row import UserRow
from db.models import PasswordToken, User
from services.events import users_changed
from services.forms import UserForm
from services.moments import long_date, now
from tests.helpers import click, create_admin, log_in, session_of
from tests.test_lifecycle_page import menu_entry, subscribed_page
from tests.test_subscription_page import running_services
from tests.test_users_page import row_of, switch


async def test_the_seats_in_the_subscription_section_follow_added_and_deleted_users(user: UserSim) -> None:
    admin = await subscribed_page(user, seats=8)
    users = running_services().users
    session = await session_of(admin)
    for number in range(3):
        await users.add(session=session, form=UserForm(f'New {number}', f'new{number}@example.com', 'member'))
    await user.should_see('4 of 8 seats used', retries=40)  # the Users header
    await user.should_see('4 of 8 used', retries=40)  # and the Subscription section, from the same event
    gone = await User.get(email='new0@example.com')
    await users.delete(session=session, user_id=gone.id)
    await user.should_see('3 of 8 seats used', retries=40)
    await user.should_see('3 of 8 used', retries=40)


async def test_a_trial_organization_counts_its_seats_live_too(user: UserSim) -> None:
    admin = await create_admin()
    await log_in(user, admin.email)
    await user.should_see('1 of 3 used')
    await running_services().users.add(session=await session_of(admin),
                                       form=UserForm('Another', 'another@example.com', 'member'))  # fmt: skip
    await user.should_see('2 of 3 used', retries=40)


async def test_flipping_is_enabled_says_what_it_did_and_an_invitation_shows_until_when(user: UserSim) -> None:
    """Issue 14, point 7: a toast per flip, and "Invitation pending" with the date its link expires."""
    admin = await create_admin()
    await log_in(user, admin.email)
    await running_services().users.add(session=await session_of(admin),
                                       form=UserForm('Max Member', 'max@example.com', 'member'))  # fmt: skip
    await user.should_see('Max Member', retries=40)
    row = row_of(user, 'Max Member')
    token = await PasswordToken.filter(user__email='max@example.com', used_at=None).order_by('-expires_at').first()
    await user.should_see('Invitation pending', kind=UserRow)
    await user.should_see(f'Link expires {long_date(token.expires_at)}', kind=UserRow)
    assert row_of(user, admin.name).props['pending'] == ''  # the admin set a password
    assert row.props['pending'].startswith('Link expires')

    switch(user, 'Max Member')
    await user.should_see('Max Member can no longer sign in.', retries=40)
    switch(user, 'Max Member')
    await user.should_see('Max Member can sign in again.', retries=40)

    await PasswordToken.filter(user__email='max@example.com').update(expires_at=now() - timedelta(minutes=1))
    running_services().events.publish(users_changed(admin.organization_id))
    await user.should_see('Link expired: resend it', kind=UserRow, retries=40)


async def test_seats_out_of_range_get_a_message_at_the_field_not_a_silent_clamp(user: UserSim) -> None:
    """Issue 14, point 8: 2000 seats on a plan of at most 500 stays 2000 and says why; so does 0."""
    await subscribed_page(user)
    menu_entry(user, 'Edit subscription').click()
    await user.should_see('Billing interval', retries=20)
    [seats] = user.find(kind=ui.number).elements
    seats.value = 2000
    await user.should_see('Professional allows at most 500 seats.', retries=20)
    seats.run_method('blur')  # where NiceGUI used to clamp to `max`
    await user.should_see('Professional allows at most 500 seats.')
    assert seats.value == 2000
    seats.value = 0
    await user.should_see('Choose at least 1 seat: 1 user is enabled.', retries=20)
    assert seats.value == 0
    [confirm] = user.find(kind=ui.button, content='Confirm').elements
    assert not confirm.enabled  # nothing can be sent to Stripe


async def test_an_expiry_month_of_13_is_refused_at_the_field_and_kept_as_typed(user: UserSim) -> None:
    await subscribed_page(user)
    menu_entry(user, 'Payment methods').click()
    await user.should_see('Expires', retries=60)  # the saved cards, loaded from Stripe
    click(user, 'Edit')
    await user.should_see('Edit payment method', retries=20)
    month = next(element for element in user.find(kind=ui.number).elements if element.props.get('label') ==
                 'Expiration month')  # fmt: skip
    month.value = 13
    click(user, 'Save')
    await user.should_see('Choose a month from 1 to 12.', retries=20)
    assert month.value == 13
    [country] = [element for element in user.find(kind=ui.select).elements if element.props.get('label') == 'Country']
    assert 'US' in country.options and country.props.get('use-input')  # the organization form's picker

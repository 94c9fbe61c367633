"""What an admin sees after a change, through the simulated user: every figure follows the same change event."""

from nicegui.testing import User as UserSim

from db.models import User
from services.forms import UserForm
from tests.helpers import create_admin, log_in, session_of
from tests.test_lifecycle_page import subscribed_page
from tests.test_subscription_page import running_services


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

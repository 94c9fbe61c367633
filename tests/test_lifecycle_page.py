"""The dialogs of a subscription's later life through the simulated user: the cogwheel's sub-menu entries, "When" in
"Edit subscription" for a cheaper change, the pause dialog's resume date, and the section's notes."""

from nicegui import ui
from nicegui.testing import User as UserSim

from db.models import SubscriptionMirror
from services.events import billing_changed, users_changed
from services.moments import long_date, now
from tests.helpers import create_admin, create_member, log_in
from tests.test_subscription_page import mounted_emulator, running_services, subscribe_behind_the_portals_back


def menu_entry(user: UserSim, label: str):
    """The cogwheel menu's item with this label (the label is the item's section, so it is found through it)."""
    found = user.find(kind=ui.menu_item)
    matching = {item for item in found.elements
                if any(getattr(child, 'text', '') == label for child in item.descendants())}  # fmt: skip
    # The current subscription's item holds its sub-menu: keep the innermost item, the entry itself.
    found.elements = {item for item in matching if not any(other in item.descendants() for other in matching - {item})}
    assert len(found.elements) == 1, f'{label!r}: {len(found.elements)} entries'
    return found


async def subscribed_page(user: UserSim, seats: int = 4):
    admin = await create_admin()
    await log_in(user, admin.email)
    await subscribe_behind_the_portals_back(admin.organization_id, seats=seats)
    await user.should_see(f'1 of {seats} used', retries=60)
    await mounted_emulator().drain()
    return admin


async def test_the_sub_menu_offers_pause_and_a_cheaper_change_asks_when(user: UserSim) -> None:
    await subscribed_page(user)
    menu_entry(user, 'Pause subscription')  # there, while active
    menu_entry(user, 'Edit subscription').click()
    await user.should_see('Billing interval', retries=20)  # the dialog is open
    [seats] = user.find(kind=ui.number).elements  # the dialog's "Seats"
    await user.should_not_see(kind=ui.radio)  # the same plan with more seats, or as many: no "When"
    seats.value = 3
    await user.should_see('Nothing is charged or credited today.', retries=40)
    [when] = user.find(kind=ui.radio).elements
    assert when.value == 'period_end'  # "At the end of the current period", the default
    await user.should_see('At the end of the current period')
    when.value = 'now'
    await user.should_see('A credit of $12.00', retries=40)  # "Now, with a credit": Stripe's prorated preview
    seats.value = 6
    await user.should_see('Charged today', retries=40)  # more seats: at once, no choice of when
    await user.should_not_see(kind=ui.radio)


async def test_the_pause_dialog_states_the_resume_date(user: UserSim) -> None:
    await subscribed_page(user)
    menu_entry(user, 'Pause subscription').click()
    await user.should_see('Until I resume', retries=20)
    await user.should_see('It resumes on')
    radio = user.find(kind=ui.radio).elements.pop()
    radio.value = 0  # "Until I resume"
    await user.should_see('It stays paused until an admin resumes it.', retries=20)
    radio.value = 3
    await user.should_see('It resumes on', retries=20)


async def test_the_section_shows_a_pause_and_a_scheduled_change(user: UserSim) -> None:
    admin = await subscribed_page(user)
    soon = now().replace(microsecond=0)
    await SubscriptionMirror.filter(organization_id=admin.organization_id).update(
        schedule_id='sub_sched_x', scheduled_plan_id='starter', scheduled_interval='month', scheduled_seats=3,
        scheduled_at=soon,
    )  # fmt: skip
    running_services().events.publish(billing_changed(admin.organization_id))  # as a write of the mirror does
    await user.should_see(f'Changes to Starter, 3 seats on {long_date(soon)}.', retries=40)
    menu_entry(user, 'Cancel scheduled change')

    await SubscriptionMirror.filter(organization_id=admin.organization_id).update(
        status='paused', pause_resumes_at=soon, schedule_id='', scheduled_at=None)  # fmt: skip
    running_services().events.publish(billing_changed(admin.organization_id))
    await user.should_see(f'Your subscription is paused. It resumes on {long_date(soon)}.', retries=40)
    await user.should_see('Resumes on')
    menu_entry(user, 'Resume subscription')
    await user.should_not_see('Pause subscription')


async def test_cancel_subscription_says_what_happens_and_the_badge_says_when(user: UserSim) -> None:
    admin = await subscribed_page(user, seats=6)
    for number in range(4):
        await create_member(admin, name=f'Member {number}')  # 5 enabled users, above the trial's 3
    running_services().events.publish(users_changed(admin.organization_id))
    await user.should_see('5 of 6 used', retries=40)
    menu_entry(user, 'Cancel subscription').click()
    await user.should_see('Reason (optional)', retries=20)
    await user.should_see(
        'After that your organization is back on the trial allowance of 3 enabled users. Your 5 '
        'enabled users stay enabled, but no one else can be enabled until fewer than 3 are.'
    )
    user.find(kind=ui.button, content='Cancel subscription').click()
    ends = (await SubscriptionMirror.get(organization_id=admin.organization_id)).current_period_end
    await user.should_see(f'Cancels on {long_date(ends)}', retries=40)
    await user.should_not_see('Active')

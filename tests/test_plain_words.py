"""Issue 14, point 9: one date style everywhere, with the time in UTC where one is shown, and counts in the plural
they need, with thousands separators."""

from datetime import UTC, datetime, timedelta, timezone

from nicegui.testing import User as UserSim

from components.user_row import UserRow
from db.models import AuditEvent, User
from services.moments import long_date
from services.words import plural
from tests.helpers import create_admin, create_member, log_in
from tests.test_activity_log import edit_organization, open_activity

EVENING = datetime(2026, 12, 1, 21, 31, 45, tzinfo=UTC)


def test_plural_says_1_seat_and_3_seats_with_thousands_separators() -> None:
    assert plural(1, 'seat') == '1 seat'
    assert plural(3, 'seat') == '3 seats'
    assert plural(0, 'seat') == '0 seats'
    assert plural(3, 'token pack') == '3 token packs'
    assert plural(1_000, 'token') == '1,000 tokens'
    assert plural(2, 'child', 'children') == '2 children'


def test_long_date_is_one_style_with_the_time_in_utc_where_one_is_asked_for() -> None:
    assert long_date(EVENING) == 'December 1, 2026'
    assert long_date(EVENING, time=True) == 'December 1, 2026, 21:31 UTC'
    moscow = datetime(2026, 12, 2, 0, 31, tzinfo=timezone(timedelta(hours=3)))  # already December 2 there
    assert long_date(moscow) == 'December 1, 2026'
    assert long_date(moscow, time=True) == 'December 1, 2026, 21:31 UTC'
    assert long_date(EVENING.replace(tzinfo=None), time=True) == 'December 1, 2026, 21:31 UTC'  # naive: UTC
    assert long_date(None) == long_date(None, time=True) == '—'


async def test_the_user_list_shows_the_last_login_in_the_long_style(user: UserSim) -> None:
    admin = await create_admin()
    member = await create_member(admin, name='Lena Login')
    await User.filter(id=member.id).update(last_login_at=EVENING)
    await log_in(user, admin.email)
    await user.should_see('December 1, 2026, 21:31 UTC', kind=UserRow, retries=20)
    await user.should_not_see('2026-12-01', kind=UserRow)


async def test_the_activity_log_shows_each_moment_in_the_long_style(user: UserSim) -> None:
    admin = await create_admin('Acme Corp')
    await log_in(user, admin.email)
    await edit_organization(user, billing_email='billing@acme.example')
    await AuditEvent.filter(organization_id=admin.organization_id).update(created_at=EVENING)
    await open_activity(user)
    await user.should_see('Ada Admin changed the billing email to billing@acme.example', retries=20)
    await user.should_see('December 1, 2026, 21:31 UTC')
    await user.should_not_see('2026-12-01 21:31:45')


def test_card_brands_read_as_people_write_them_from_stripes_code_or_the_card_mirrors() -> None:
    from components.dialog_kit import brand

    written = [brand(code) for code in ('amex', 'Amex', 'visa', 'Visa', 'unionpay', 'Unionpay', 'discover')]
    assert written == ['American Express', 'American Express', 'Visa', 'Visa', 'UnionPay', 'UnionPay', 'Discover']

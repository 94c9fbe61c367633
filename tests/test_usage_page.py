"""What the portal shows of the product's use: the trial's end, consumptions in the Token history with a chart of
the last 30 days, and "Alert me below"."""

from datetime import timedelta

from nicegui import app, ui
from nicegui.testing import User as UserSim

from db.models import BillingAccount, Organization, SubscriptionMirror
from services.moments import long_date, now
from tests.helpers import click, create_admin, log_in


async def flexible_organization(name: str = 'Usage Org'):
    admin = await create_admin(name)
    await SubscriptionMirror.create(organization_id=admin.organization_id, stripe_subscription_id=f'sub_{name}',
                                    plan_id='flexible', interval='month', status='active', seats=3)  # fmt: skip
    await BillingAccount.create(organization_id=admin.organization_id, token_balance=0)
    return admin


async def test_an_ended_trial_says_when_beside_choose_subscription(user: UserSim) -> None:
    admin = await create_admin('Late Org')
    created = now() - timedelta(days=20)
    await Organization.filter(id=admin.organization_id).update(created_at=created)
    await log_in(user, admin.email)  # admins keep the portal, to subscribe
    await user.should_see(f'Your trial ended on {long_date(created + timedelta(days=14))}.')
    await user.should_see('Choose subscription')


async def test_the_token_history_lists_consumptions_under_a_chart_of_the_last_30_days(user: UserSim) -> None:
    admin = await flexible_organization()
    await log_in(user, admin.email)
    usage = app.state.services.usage
    await usage.grant(organization_id=admin.organization_id, amount=100, idempotency_key='g', reason='Welcome')
    answer = await usage.consume(organization_id=admin.organization_id, amount=30, idempotency_key='c',
                                 description='Rendered report 9f2c1')  # fmt: skip
    assert answer.status == 200
    await user.should_see('70', retries=20)  # the balance followed live
    click(user, 'Token history')
    await user.should_see('Tokens used per day, last 30 days', retries=30)  # the dialog opens after two queries
    await user.should_see('Rendered report 9f2c1')
    await user.should_see('Granted: Welcome')
    [chart] = user.find(kind=ui.echart).elements
    assert chart.options['series'][0]['data'][-1] == 30 and len(chart.options['series'][0]['data']) == 30


async def test_the_token_history_opens_even_when_a_live_update_redraws_its_button_meanwhile(user: UserSim) -> None:
    admin = await flexible_organization('Redraw Org')
    await log_in(user, admin.email)
    usage = app.state.services.usage
    await usage.grant(organization_id=admin.organization_id, amount=100, idempotency_key='g', reason='Welcome')
    await user.should_see('100', retries=20)
    click(user, 'Token history')  # its handler reads the history while…
    await usage.grant(organization_id=admin.organization_id, amount=5, idempotency_key='g2', reason='Bonus')
    await user.should_see('Granted: Welcome', retries=30)  # …this grant's live update redraws the section


async def test_alert_me_below_is_set_and_cleared(user: UserSim) -> None:
    admin = await flexible_organization('Alert Org')
    await log_in(user, admin.email)
    click(user, 'Alert me below')
    await user.should_see('Leave it empty for no alert.', retries=20)
    [field] = [
        element for element in user.find(kind=ui.number).elements if element.props.get('label') == 'Alert me below'
    ]
    field.value = 500
    click(user, 'Save')
    await user.should_see('You get an email when fewer than 500 tokens are left.', retries=20)
    assert (await BillingAccount.get(organization_id=admin.organization_id)).low_balance_threshold == 500
    click(user, 'Alert me below')
    await user.should_see('Leave it empty for no alert.', retries=20)
    [field] = [
        element for element in user.find(kind=ui.number).elements if element.props.get('label') == 'Alert me below'
    ]
    field.value = None
    click(user, 'Save')
    await user.should_see('No alert is set.', retries=20)
    assert (await BillingAccount.get(organization_id=admin.organization_id)).low_balance_threshold is None


def alert_field(user: UserSim) -> ui.number:
    [field] = [number for number in user.find(kind=ui.number).elements if number.props.get('label') == 'Alert me below']
    return field

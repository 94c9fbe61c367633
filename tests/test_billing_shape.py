"""What the shape of billing promises: plans are data (a quarterly price needs no code), a preview's price survives a
restart, and the docs name exactly the webhooks Portico handles."""

import asyncio
import re
from pathlib import Path

from db.models import ChangePreview, SubscriptionMirror
from services.billing.webhooks import HANDLERS
from services.container import Services
from services.plans import Interval, load_catalog
from tests.billing_helpers import pay, subscribed
from tests.helpers import create_admin, session_of

ROOT = Path(__file__).resolve().parent.parent
QUARTERLY_CATALOG = """
[plans.team]
name = "Team"
description = "Billed every three months."
features = ["Everything"]
currency = "eur"
monthly_price = 5.00
quarterly_price = 13.50
yearly_price = 50.00
min_seats = 1
max_seats = 20
uses_tokens = false
"""


async def test_a_quarterly_price_in_the_catalog_is_sold_and_mirrored_without_code(db, emulator_app, tmp_path) -> None:
    (tmp_path / 'plans.toml').write_text(QUARTERLY_CATALOG)
    catalog = load_catalog(tmp_path / 'plans.toml')
    assert catalog.intervals == (Interval.MONTH, Interval.QUARTER, Interval.YEAR)
    services = Services.build(db, emulator_app=emulator_app, catalog=catalog)
    assert 'created price portico_team_quarterly (€13.50)' in await services.billing.prices.sync()

    admin = await create_admin('Quarterly Org')
    url = await services.billing.checkouts.start_subscription(
        session=await session_of(admin), plan_id='team', interval='quarter', seats=4
    )
    response = await pay(emulator_app, url)
    session_id = response.headers['location'].split('session_id=')[1]
    assert await services.billing.checkouts.fulfill(session_id) == 'complete'
    mirror = await SubscriptionMirror.get(organization_id=admin.organization_id)
    assert (mirror.plan_id, mirror.interval, mirror.seats, mirror.status) == ('team', 'quarter', 4, 'active')
    subscription = await services.billing.gateway.call('subscriptions', 'retrieve', mirror.stripe_subscription_id)
    item = subscription['items']['data'][0]
    assert item['price']['recurring']['interval'] == 'month' and item['price']['recurring']['interval_count'] == 3
    assert 85 <= (item['current_period_end'] - item['current_period_start']) // 86400 <= 93  # three months
    overview = await services.billing.subscriptions.overview(session=await session_of(admin))
    assert overview.subscribed and overview.seat_limit == 4


async def test_confirm_after_a_restart_charges_exactly_what_the_preview_showed(
    services: Services, emulator_app
) -> None:
    admin = await subscribed(services, emulator_app, plan='starter', seats=2)
    preview = await services.billing.subscriptions.preview_change(
        session=await session_of(admin), plan_id='professional', interval='month', seats=3
    )
    [shown] = await ChangePreview.filter(organization_id=admin.organization_id)
    await asyncio.sleep(1.1)  # a later second: what a new preview (or none) would prorate at

    restarted = Services.build(services.settings, emulator_app=emulator_app)  # a new process: nothing in memory
    changed = await restarted.billing.subscriptions.apply_change(
        session=await session_of(admin), plan_id='professional', interval='month', seats=3
    )
    invoice = await restarted.billing.gateway.call(
        'invoices', 'list', subscription=changed.stripe_subscription_id, limit=1
    )
    latest = invoice['data'][0]
    assert latest['amount_paid'] == preview.due_today
    starts = {line['period']['start'] for line in latest['lines']['data']}
    assert shown.proration_date in starts  # prorated from the second the preview was made
    assert not await ChangePreview.exists(organization_id=admin.organization_id)  # used up


def test_the_docs_list_exactly_the_webhooks_portico_handles() -> None:
    guide = (ROOT / 'docs' / 'stripe.md').read_text()
    section = guide.split('## Going live', 1)[1].split('\n2. ', 1)[0]
    listed = set(re.findall(r'`([a-z_]+(?:\.[a-z_]+)+)`', section))
    assert listed == set(HANDLERS), (sorted(listed - set(HANDLERS)), sorted(set(HANDLERS) - listed))

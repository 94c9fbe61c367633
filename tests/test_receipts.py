"""Receipts: each paid invoice of an organization's customer mails its number, the amount paid, the period and its
links to the billing email and the receipt emails, once per invoice. The real SDK and the emulator, signed webhooks,
and a real SMTP server; the "Receipt emails (optional)" field in the Organization form."""

import asyncio
import time
from urllib.parse import urlsplit

import httpx
import pytest
from nicegui.testing import User as UserSim

from db.models import AuditEvent, BillingAccount, BillingNotice, Organization, OutboxMail, SubscriptionMirror
from services.container import Services
from services.errors import ValidationFailed
from services.mail import WITHHELD
from services.moments import from_timestamp, long_date
from services.settings import Settings
from tests.billing_helpers import deliver, events_of, pay, subscribed
from tests.conftest import Inbox
from tests.helpers import click, create_admin, log_in, session_of
from tests.test_organization import open_editor


@pytest.fixture
async def mailing(smtp: Inbox, db: Settings, emulator_app) -> Services:
    """The services with their mailer pointed at the `smtp` inbox (built after it has set SMTP_HOST)."""
    built = Services.build(Settings.from_env(), emulator_app=emulator_app)
    await built.billing.prices.sync()
    return built


async def _deliver_paid(services: Services, *, after: int = 0) -> list[dict]:
    """Deliver the emulator's invoice.paid events (from the `after`-th on), as Stripe would; returns them."""
    events = (await events_of(services, 'invoice.paid'))[after:]
    for event in events:
        assert (await deliver(services, event)).message == 'ok'
    return events


def _lines(message) -> list[str]:
    return message.get_body(preferencelist=('plain',)).get_content().splitlines()


async def _settled(inbox: Inbox, count: int) -> list:
    """The mails once `count` have come (they go out in the background after the commit), and no more come."""
    await inbox.wait_for(count)
    await asyncio.sleep(0.3)
    return inbox.messages


async def _get(emulator_app, url: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=emulator_app)
    async with httpx.AsyncClient(transport=transport, base_url='http://emulator') as client:
        return await client.get(urlsplit(url).path.removeprefix('/emulator/stripe'))


async def test_a_paid_invoice_mails_one_receipt_with_its_facts_and_links(mailing: Services, smtp: Inbox,
                                                                          emulator_app) -> None:  # fmt: skip
    admin = await subscribed(mailing, emulator_app, plan='starter', seats=2)
    [event] = await _deliver_paid(mailing)
    invoice = await mailing.billing.gateway.call('invoices', 'retrieve', event['data']['object']['id'])
    [mail] = await _settled(smtp, 1)

    assert mail['To'] == admin.email  # the billing email, which starts as the first admin's
    assert mail['Subject'] == f'Receipt for Acme Corp: invoice {invoice["number"]}, $12.00 paid'
    text = _lines(mail)
    renews = (await SubscriptionMirror.get(organization_id=admin.organization_id)).current_period_end
    started = from_timestamp(invoice['lines']['data'][0]['period']['start'])
    assert started.month % 12 + 1 == renews.month  # a month's subscription
    assert f'Invoice number: {invoice["number"]}' in text
    assert 'Amount paid: $12.00' in text
    assert f'Period: {long_date(started)} to {long_date(renews)}' in text
    assert f'View invoice: {invoice["hosted_invoice_url"]}' in text
    assert f'Download PDF: {invoice["invoice_pdf"]}' in text
    html = mail.get_body(preferencelist=('html',)).get_content()
    assert f'href="{invoice["hosted_invoice_url"]}"' in html and f'href="{invoice["invoice_pdf"]}"' in html
    page, pdf = (
        await _get(emulator_app, invoice['hosted_invoice_url']),
        await _get(emulator_app, invoice['invoice_pdf']),
    )
    assert page.status_code == 200 and invoice['number'] in page.text
    assert pdf.status_code == 200 and pdf.content.startswith(b'%PDF')

    # The same event twice at once, again later, and under another event id: still one receipt.
    results = await asyncio.gather(deliver(mailing, event), deliver(mailing, event))
    assert sorted(result.message for result in results) == ['duplicate, ignored', 'duplicate, ignored']
    assert (await deliver(mailing, {**event, 'id': f'{event["id"]}_again'})).message == 'ok'
    assert len(await _settled(smtp, 1)) == 1
    assert await BillingNotice.filter(kind='receipt').values_list('reference', flat=True) == [invoice['id']]


async def test_a_zero_invoice_gets_no_receipt_and_the_first_paid_one_does(services: Services) -> None:
    admin = await create_admin()
    gateway = services.billing.gateway
    customer = await gateway.call('customers', 'create', name='Acme Corp', email=admin.email)
    await BillingAccount.create(organization_id=admin.organization_id, stripe_customer_id=customer['id'])
    card = await gateway.call('payment_methods', 'create', type='card', card={'token': 'tok_visa'})
    await gateway.call('payment_methods', 'attach', card['id'], customer=customer['id'])
    price = await services.billing.prices.price_id('portico_starter_monthly')
    subscription = await gateway.call('subscriptions', 'create', customer=customer['id'], trial_period_days=14,
                                      items=[{'price': price, 'quantity': 2}], default_payment_method=card['id'],
                                      metadata={'organization_id': str(admin.organization_id)})  # fmt: skip
    [trial] = await _deliver_paid(services)
    assert (trial['data']['object']['amount_paid'], trial['data']['object']['status']) == (0, 'paid')
    await asyncio.sleep(0.3)
    assert not await OutboxMail.exists() and not await BillingNotice.exists(kind='receipt')

    await gateway.call('subscriptions', 'update', subscription['id'], trial_end='now')  # the trial ends: $12.00
    [paid] = await _deliver_paid(services, after=1)
    for _ in range(50):  # the mail goes out in the background, after the webhook's commit
        if await OutboxMail.exists():
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    [mail] = await OutboxMail.all()
    invoice = await gateway.call('invoices', 'retrieve', paid['data']['object']['id'])
    assert (mail.recipient, mail.subject) == (admin.email, f'Receipt for Acme Corp: invoice {invoice["number"]}, '
                                                           '$12.00 paid')  # fmt: skip
    # Without SMTP the outbox keeps who, what and when, and neither link.
    assert 'Amount paid: $12.00' in mail.text and f'View invoice: {WITHHELD}' in mail.text
    assert f'Download PDF: {WITHHELD}' in mail.text
    assert invoice['hosted_invoice_url'] not in mail.text + mail.html
    assert invoice['invoice_pdf'] not in mail.text + mail.html


async def test_receipt_emails_get_every_receipt_too_also_of_token_purchases(mailing: Services, smtp: Inbox,
                                                                             emulator_app) -> None:  # fmt: skip
    admin = await create_admin()
    receipt_emails = f'Finance@Example.com, {admin.email.upper()}, books@example.com'  # the billing email again
    await mailing.organizations.update(session=await session_of(admin), organization_id=admin.organization_id,
                                       values={'name': 'Acme Corp', 'billing_email': admin.email,
                                               'receipt_emails': receipt_emails})  # fmt: skip
    await subscribed(mailing, emulator_app, plan='flexible', seats=2, admin=admin)
    await _deliver_paid(mailing)
    mails = await _settled(smtp, 3)
    assert sorted(mail['To'] for mail in mails) == sorted([admin.email, 'finance@example.com', 'books@example.com'])
    assert {mail['Subject'].split(', ')[-1] for mail in mails} == {'$20.00 paid'}

    # Three token packs through Checkout: its invoice is a paid invoice of the customer like any other.
    url = await mailing.billing.tokens.start_checkout(session=await session_of(admin), packs=3)
    paid_at = int(time.time())
    assert (await pay(emulator_app, url)).status_code == 303
    [event] = await _deliver_paid(mailing, after=1)
    tokens = await _settled(smtp, 6)
    tokens = tokens[3:]
    assert sorted(mail['To'] for mail in tokens) == sorted([admin.email, 'finance@example.com', 'books@example.com'])
    invoice = await mailing.billing.gateway.call('invoices', 'retrieve', event['data']['object']['id'])
    text = _lines(tokens[0])
    assert 'Amount paid: $30.00' in text and f'Invoice number: {invoice["number"]}' in text
    assert f'Period: {long_date(from_timestamp(paid_at))}' in text  # one day: no "to"
    assert f'Download PDF: {invoice["invoice_pdf"]}' in text


async def test_receipt_emails_are_cleaned_and_audited(services: Services) -> None:
    admin = await create_admin()
    saved = await services.organizations.update(
        session=await session_of(admin), organization_id=admin.organization_id,
        values={'name': 'Acme Corp', 'receipt_emails': ' A@Example.com ,, b@example.com, a@example.com '},
    )  # fmt: skip
    assert saved.receipt_emails == 'a@example.com, b@example.com'
    event = await AuditEvent.get(organization_id=admin.organization_id, action='organization.edited')
    assert (event.before['receipt_emails'], event.after['receipt_emails']) == ('', 'a@example.com, b@example.com')


@pytest.mark.parametrize(
    ('value', 'message'),
    [
        ('finance@example.com, not-an-email', 'not-an-email is not a valid email address'),
        ('a@b', 'a@b is not a valid email address'),
        ('a@example.com, b@example.com, c@example.com, d@example.com', 'At most 3 receipt emails.'),
    ],
)
async def test_a_bad_receipt_email_is_shown_at_its_field_and_nothing_is_saved(user: UserSim, value: str,
                                                                               message: str) -> None:  # fmt: skip
    admin = await create_admin('Acme Corp')
    await log_in(user, admin.email)
    await open_editor(user)
    user.find('City').type('Utrecht')  # a valid change in the same form is not saved either
    user.find('Receipt emails (optional)').type(value)
    click(user, 'Save')
    await user.should_see(message, retries=20)
    [editor] = user.find(marker='organization-receipt_emails').elements
    assert editor.error is not None and message in editor.error
    unchanged = await Organization.get(id=admin.organization_id)
    assert (unchanged.city, unchanged.receipt_emails) == ('', '')


async def test_admin_adds_receipt_emails_and_sees_them(user: UserSim) -> None:
    admin = await create_admin('Acme Corp')
    await log_in(user, admin.email)
    await user.should_see('Receipt emails')
    await open_editor(user)
    user.find('Receipt emails (optional)').type('Finance@Example.com, books@example.com')
    click(user, 'Save')
    await user.should_see('Organization saved.', retries=20)
    await user.should_see('finance@example.com, books@example.com')
    saved = await Organization.get(id=admin.organization_id)
    assert saved.receipt_emails == 'finance@example.com, books@example.com'


async def test_more_than_three_receipt_emails_are_refused_by_the_service(services: Services) -> None:
    # The form is not the only way in: a crafted websocket message reaches the service directly.
    admin = await create_admin()
    with pytest.raises(ValidationFailed) as failure:
        await services.organizations.update(session=await session_of(admin), organization_id=admin.organization_id,
                                            values={'name': 'Acme Corp', 'receipt_emails': ','.join(
                                                f'r{n}@example.com' for n in range(4))})  # fmt: skip
    assert failure.value.errors == {'receipt_emails': 'At most 3 receipt emails.'}
    assert (await Organization.get(id=admin.organization_id)).receipt_emails == ''

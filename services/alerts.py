"""Mail when something happened: to the admins when it needs them (tokens below their threshold, "Alert me
below"; a failed payment; auto top-up switched off), and a receipt of each paid invoice to the billing email and the
receipt emails."""

import asyncio
import html
import logging
from dataclasses import replace
from typing import Any

from db.models import Organization, Role, User
from services.billing.gateway import StripeGateway
from services.events import Events, auto_top_up_failed, invoice_paid, payment_failed, tokens_low
from services.mail import Mail, Mailer, link_mail, withhold_link
from services.moments import from_timestamp, long_date
from services.plans import format_money
from services.words import plural

log = logging.getLogger('portico.alerts')


class _MailOnEvent:
    """Send mail in the background each time `topic` is published (after the commit that published it)."""

    topic: tuple

    def __init__(self, *, events: Events, mailer: Mailer) -> None:
        self.mailer = mailer
        self._sending: set[asyncio.Task] = set()
        events.subscribe(self.topic, self._published)

    def _published(self, payload: Any) -> None:
        task = asyncio.get_running_loop().create_task(self.send(payload))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def send(self, payload: Any) -> int:
        """Send the mail of one event; returns how many recipients it went to."""
        raise NotImplementedError


class AdminMail(_MailOnEvent):
    """Mail every enabled admin of an organization when `topic` is published with its id (after the commit)."""

    def __init__(self, *, events: Events, mailer: Mailer, base_url: str) -> None:
        self.base_url = base_url
        super().__init__(events=events, mailer=mailer)

    async def send(self, organization_id: int) -> int:
        organization = await Organization.get_or_none(id=organization_id).prefetch_related('billing', 'subscription')
        if organization is None or (content := self.content(organization)) is None:
            return 0
        subject, action, lines = content
        admins = await User.filter(organization_id=organization_id, role=Role.ADMIN, is_enabled=True)
        for admin in admins:
            try:
                await self.mailer.send(link_mail(
                    recipient=admin.email, subject=subject, organization=organization.name,
                    link=f'{self.base_url}/admin', action=action, lines=[f'Hello {admin.name},', *lines],
                ))  # fmt: skip
            except Exception:
                log.exception('the %s mail to %s failed', self.topic[0], admin.email)
        return len(admins)

    def content(self, organization: Organization) -> tuple[str, str, list[str]] | None:
        """The subject, the button's words and the lines after the greeting; None when there is nothing to say."""
        raise NotImplementedError


class LowBalanceMail(AdminMail):
    """Each crossing of the threshold (published once by the usage service) mails every enabled admin once."""

    topic = tokens_low()

    def content(self, organization: Organization) -> tuple[str, str, list[str]]:
        account = organization.billing
        left = plural(account.token_balance, 'token')
        return (f'{organization.name} has {left} left', 'Add tokens',
                [f'{organization.name} has {left} left, below the '
                 f'{account.low_balance_threshold:,} you asked to hear about.'])  # fmt: skip


class PaymentFailedMail(AdminMail):
    """The first failure of each invoice (noted once by `recovery.note_failure`) mails every enabled admin once."""

    topic = payment_failed()

    def content(self, organization: Organization) -> tuple[str, str, list[str]] | None:
        subscription = getattr(organization, 'subscription', None)
        if subscription is None or not subscription.open_invoice_id:
            return None  # paid meanwhile
        amount = format_money(subscription.open_invoice_amount, subscription.open_invoice_currency or 'usd')
        retry = (f'Stripe tries again on {long_date(subscription.next_payment_attempt)}.'
                 if subscription.next_payment_attempt else 'Stripe will not try again.')  # fmt: skip
        reason = f' {subscription.payment_error}' if subscription.payment_error else ''
        return (f'The payment of {amount} for {organization.name} failed', 'Pay now',
                [f'The payment of {amount} for {organization.name} failed.{reason}',
                 f'{retry} To pay now, or to use another card, open the administration page.'])  # fmt: skip


class AutoTopUpFailedMail(AdminMail):
    """Auto top-up switched off by a refused payment (published once per switch-off by `AutoTopUps`) mails every
    enabled admin once."""

    topic = auto_top_up_failed()

    def content(self, organization: Organization) -> tuple[str, str, list[str]] | None:
        account = organization.billing
        if not account.auto_topup_error:
            return None  # turned on again meanwhile
        packs = plural(account.auto_topup_packs, 'token pack')
        lines = [
            f'Auto top-up could not buy {packs} for {organization.name}: {account.auto_topup_error}',
            'It is switched off: no tokens are bought on their own until an admin turns it on again. Open the '
            'administration page, check the default card in "Payment methods", then save "Auto top-up".',
        ]
        return f'Auto top-up for {organization.name} was switched off', 'Check the card', lines


class ReceiptMail(_MailOnEvent):
    """Each paid invoice (noted once by the `invoice.paid` webhook) mails its receipt, read again from Stripe, to
    the billing email and the receipt emails."""

    topic = invoice_paid()

    def __init__(self, *, events: Events, mailer: Mailer, gateway: StripeGateway) -> None:
        self.gateway = gateway
        super().__init__(events=events, mailer=mailer)

    async def send(self, payload: tuple[int, str]) -> int:
        organization_id, invoice_id = payload
        organization = await Organization.get_or_none(id=organization_id)
        recipients = receipt_recipients(organization) if organization else []
        if not recipients:
            return 0
        try:
            invoice = await self.gateway.call('invoices', 'retrieve', invoice_id)
            lines = invoice['lines']
            lines = (await self.gateway.list_all('invoices.line_items', invoice_id) if lines.get('has_more')
                     else lines['data'])  # fmt: skip
        except Exception:
            log.exception('the receipt of %s could not be read from Stripe', invoice_id)
            return 0
        for recipient in recipients:
            mail = receipt_mail(recipient=recipient, organization=organization.name, invoice=invoice, lines=lines)
            if not self.mailer.sends:  # the outbox keeps no link, and the mailer withholds only `mail.link`
                pdf = invoice.get('invoice_pdf') or ''
                mail = replace(
                    mail, text=withhold_link(mail.text, pdf), html=withhold_link(mail.html, html.escape(pdf))
                )
            try:
                await self.mailer.send(mail)
            except Exception:
                log.exception('the receipt of %s to %s failed', invoice_id, recipient)
        return len(recipients)


def receipt_recipients(organization: Organization) -> list[str]:
    """The billing email, then the receipt emails, each once."""
    addresses = [organization.billing_email, *organization.receipt_emails.split(',')]
    return list(dict.fromkeys(address.strip() for address in addresses if address.strip()))


def receipt_mail(*, recipient: str, organization: str, invoice: dict, lines: list[dict]) -> Mail:
    """The invoice's number, the amount paid, the period its lines cover, and its hosted page and PDF."""
    amount = format_money(invoice['amount_paid'], invoice['currency'])
    facts = [f'Invoice number: {invoice["number"]}', f'Amount paid: {amount}']
    if period := _period(lines):
        facts.append(f'Period: {period}')
    links = {'View invoice': invoice.get('hosted_invoice_url') or '', 'Download PDF': invoice.get('invoice_pdf') or ''}
    links = {action: link for action, link in links.items() if link}
    opening = f'{amount} was paid for {organization}. Thank you.'
    text = '\n\n'.join([opening, '\n'.join(facts), *(f'{action}: {link}' for action, link in links.items()),
                         f'— Portico, for {organization}'])  # fmt: skip
    body = (
        f'<html><body style="font-family: sans-serif"><p>{html.escape(opening)}</p>'
        f'<p>{"<br>".join(html.escape(fact) for fact in facts)}</p>'
        + ''.join(f'<p><a href="{html.escape(link)}">{action}</a></p>' for action, link in links.items())
        + f'<p style="color:#666">Portico, for {html.escape(organization)}</p></body></html>'
    )
    subject = f'Receipt for {organization}: invoice {invoice["number"]}, {amount} paid'
    return Mail(recipient=recipient, subject=subject, text=text, html=body, link=links.get('View invoice', ''))


def _period(lines: list[dict]) -> str:
    """ "December 1, 2026 to January 1, 2027"; one date for a one-off purchase."""
    if not lines:
        return ''
    start = long_date(from_timestamp(min(line['period']['start'] for line in lines)))
    end = long_date(from_timestamp(max(line['period']['end'] for line in lines)))
    return start if start == end else f'{start} to {end}'

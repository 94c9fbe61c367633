"""Mail to the admins when something needs them: tokens below their threshold ("Alert me below"), a failed
payment."""

import asyncio
import logging

from db.models import Organization, Role, User
from services.events import Events, payment_failed, tokens_low
from services.mail import Mailer, link_mail
from services.moments import long_date
from services.plans import format_money

log = logging.getLogger('portico.alerts')


class AdminMail:
    """Mail every enabled admin of an organization when `topic` is published with its id (after the commit)."""

    topic: tuple

    def __init__(self, *, events: Events, mailer: Mailer, base_url: str) -> None:
        self.mailer = mailer
        self.base_url = base_url
        self._sending: set[asyncio.Task] = set()
        events.subscribe(self.topic, self._published)

    def _published(self, organization_id: int) -> None:
        task = asyncio.get_running_loop().create_task(self.send(organization_id))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

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
        return (f'{organization.name} has {account.token_balance:,} tokens left', 'Add tokens',
                [f'{organization.name} has {account.token_balance:,} tokens left, below the '
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

"""Mail to the admins when something needs them: tokens below their threshold ("Alert me below")."""

import asyncio
import logging

from db.models import Organization, Role, User
from services.events import Events, tokens_low
from services.mail import Mailer, link_mail

log = logging.getLogger('portico.alerts')


class LowBalanceMail:
    """Each crossing of the threshold (published once by the usage service) mails every enabled admin once."""

    def __init__(self, *, events: Events, mailer: Mailer, base_url: str) -> None:
        self.mailer = mailer
        self.base_url = base_url
        self._sending: set[asyncio.Task] = set()
        events.subscribe(tokens_low(), self._crossed)

    def _crossed(self, organization_id: int) -> None:
        task = asyncio.get_running_loop().create_task(self.send(organization_id))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def send(self, organization_id: int) -> int:
        organization = await Organization.get_or_none(id=organization_id).prefetch_related('billing')
        if organization is None:
            return 0
        account = organization.billing
        admins = await User.filter(organization_id=organization_id, role=Role.ADMIN, is_enabled=True)
        for admin in admins:
            try:
                await self.mailer.send(link_mail(
                    recipient=admin.email, subject=f'{organization.name} has {account.token_balance:,} tokens left',
                    organization=organization.name, link=f'{self.base_url}/admin', action='Add tokens',
                    lines=[f'Hello {admin.name},', f'{organization.name} has {account.token_balance:,} tokens left, '
                           f'below the {account.low_balance_threshold:,} you asked to hear about.'],
                ))  # fmt: skip
            except Exception:
                log.exception('the low-balance mail to %s failed', admin.email)
        return len(admins)

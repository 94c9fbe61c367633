"""Billing history: the organization's invoices, newest first, paged by Stripe itself."""

from dataclasses import dataclass
from datetime import datetime

from services.auth import Session
from services.billing.context import Contexts
from services.billing.gateway import StripeGateway
from services.moments import from_timestamp

INVOICE_PAGE = 20


@dataclass(frozen=True)
class InvoiceRow:
    id: str
    number: str
    created: datetime
    total: int
    currency: str
    status: str
    hosted_url: str
    pdf_url: str


@dataclass(frozen=True)
class InvoicePage:
    rows: list[InvoiceRow]
    has_more: bool


@dataclass(frozen=True, kw_only=True)
class Invoices:
    gateway: StripeGateway
    contexts: Contexts

    async def page(self, *, session: Session | None, starting_after: str | None = None) -> InvoicePage:
        context = await self.contexts.of(session)
        if not context.account.stripe_customer_id:
            return InvoicePage(rows=[], has_more=False)
        params = {'customer': context.account.stripe_customer_id, 'limit': INVOICE_PAGE}
        if starting_after:
            params['starting_after'] = starting_after
        page = await self.gateway.call('invoices', 'list', **params)
        rows = [
            InvoiceRow(
                id=invoice['id'],
                number=invoice.get('number') or '—',
                created=from_timestamp(invoice['created']),
                total=invoice['total'],
                currency=invoice['currency'],
                status=invoice['status'],
                hosted_url=invoice.get('hosted_invoice_url') or '',
                pdf_url=invoice.get('invoice_pdf') or '',
            )  # fmt: skip
            for invoice in page['data']
        ]
        return InvoicePage(rows=rows, has_more=page['has_more'])

"""When a payment fails: what is owed, paying it now, and telling the admins once per failed invoice.

Stripe (or the emulator) retries a failed renewal on its own schedule. Portico mirrors what the admins need to act:
the oldest open invoice of a past-due or unpaid subscription, its amount, Stripe's reason, the next retry and when
the payments began to fail (`OwedInvoice`, read from Stripe by `owed_invoice` at every mirror write). "Pay now" pays
that invoice with the default card; the mirror is rewritten from Stripe at once, and again by `invoice.paid`.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from services import audit
from services.auth import Session
from services.billing.context import Contexts
from services.billing.gateway import StripeGateway
from services.billing.mirror import OWING
from services.billing.notices import note_once
from services.errors import PermissionDenied
from services.events import Events, payment_failed
from services.moments import from_timestamp
from services.plans import format_money


@dataclass(frozen=True)
class OwedInvoice:
    id: str
    amount: int
    currency: str
    next_attempt: datetime | None
    error: str
    first_failed_at: datetime | None
    # Where the cardholder confirms a payment that waits for 3-D Secure ("Confirm payment"); '' when none waits.
    action_url: str = ''


async def owed_invoice(gateway: StripeGateway, subscription: dict, *, return_url: str = '') -> OwedInvoice | None:
    """The oldest open invoice of an owing subscription (or of a change held back until its payment is confirmed),
    with the reason its last payment failed, or the page that confirms it."""
    if subscription.get('status') not in OWING and not subscription.get('pending_update'):
        return None
    page = await gateway.call('invoices', 'list', subscription=subscription['id'], status='open', limit=10,
                              expand=['data.payments'])  # fmt: skip
    invoices = sorted(page['data'], key=lambda invoice: invoice['created'])
    if not invoices:
        return None
    invoice = invoices[0]
    payments = sorted(((invoice.get('payments') or {}).get('data') or []), key=lambda payment: payment['created'])
    error, action_url = '', ''
    if payments and (intent_id := (payments[-1].get('payment') or {}).get('payment_intent')):
        intent = await gateway.call('payment_intents', 'retrieve', intent_id)
        error = ((intent.get('last_payment_error') or {}).get('message') or '')[:500]
        if intent.get('status') == 'requires_action':
            action_url = _confirmation_page(intent, invoice, return_url)
    return OwedInvoice(
        id=invoice['id'], amount=invoice['amount_remaining'], currency=invoice['currency'],
        next_attempt=from_timestamp(invoice.get('next_payment_attempt')), error=error,
        first_failed_at=from_timestamp(payments[0]['created']) if payments else from_timestamp(invoice['created']),
        action_url=action_url,
    )  # fmt: skip


def _confirmation_page(intent: dict, invoice: dict, return_url: str) -> str:
    """The emulator's hosted authentication page (back to `return_url` afterwards), or Stripe's hosted invoice page,
    which asks for 3-D Secure itself (Stripe's own next action is for Stripe.js)."""
    redirect = ((intent.get('next_action') or {}).get('redirect_to_url') or {}).get('url')
    if redirect:
        return f'{redirect}{"&" if "?" in redirect else "?"}{urlencode({"return_url": return_url})}'[:2000]
    return (invoice.get('hosted_invoice_url') or '')[:2000]


@dataclass(frozen=True, kw_only=True)
class Recovery:
    gateway: StripeGateway
    contexts: Contexts
    resync: Callable[[dict], Awaitable[object]]

    async def pay_now(self, *, session: Session | None) -> str:
        """Pay the owed invoice with the default card; returns what was paid, as the admin reads it."""
        async with self.contexts.exclusive(session, subscribed=False) as context:
            subscription = context.subscription
            if subscription is None or subscription.status not in OWING or not subscription.open_invoice_id:
                raise PermissionDenied('Nothing is owed: the invoice is already paid.')
            invoice_id, amount = subscription.open_invoice_id, subscription.open_invoice_amount
            paid_text = format_money(amount, subscription.open_invoice_currency or 'usd')
            try:
                await self.gateway.call('invoices', 'pay', invoice_id, key=context.key(f'pay-{invoice_id}'))
            finally:
                # Paid or declined, the account moves on: another "Pay now" is a new attempt, not a replay.
                await self.contexts.next_revision(context.account)
            await audit.record(actor=context.admin, action='billing.invoice_paid', target_type='invoice',
                               target_label=invoice_id, after={'amount': paid_text})  # fmt: skip
        await self.resync({'id': subscription.stripe_subscription_id, 'customer': context.account.stripe_customer_id,
                           'metadata': {'organization_id': str(context.organization.id)}})  # fmt: skip
        return paid_text


async def note_failure(events: Events, organization_id: int, invoice_id: str) -> None:
    """Inside the webhook's transaction: the first time this invoice fails, the admins are to be mailed (after the
    commit); a retry that fails again, or the same event twice, mails nobody."""
    await note_once(events, organization_id=organization_id, kind='payment_failed', reference=invoice_id,
                    topic=payment_failed(), payload=organization_id)  # fmt: skip

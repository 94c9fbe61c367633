"""Prepaid tokens: buying packs through Checkout (or by auto top-up), the ledger and the balance.

A purchase is credited once, when Stripe says it is paid; a payment that fails later credits nothing and says so;
a refund or a lost dispute takes its share of the tokens back. Each ledger entry is unique by what caused it (the
Checkout session for a credit, an auto top-up's PaymentIntent, the refund, the dispute or the failed session for the
rest), and written in one transaction with the balance, so a repeated or late webhook changes nothing twice. The
balance may go below zero when tokens already spent are taken back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db.models import BillingAccount, TokenLedgerEntry
from services import audit
from services.auth import Session
from services.billing.context import Contexts, checkout_owner
from services.errors import PermissionDenied, ValidationFailed
from services.plans import format_money

if TYPE_CHECKING:
    from services.billing.catalog import CatalogSync
    from services.billing.gateway import StripeGateway
    from services.settings import Settings

OpenCheckout = Callable[..., Awaitable[dict]]  # Checkouts.open, handed in: checkout itself credits tokens through here

log = logging.getLogger('portico.billing')
MAX_TOKEN_PACKS = 100


@dataclass(frozen=True, kw_only=True)
class Tokens:
    settings: Settings
    gateway: StripeGateway
    contexts: Contexts
    prices: CatalogSync
    open_checkout: OpenCheckout

    async def start_checkout(self, *, session: Session | None, packs: int) -> str:
        """A Checkout session (mode payment) for `packs` token packs of the organization's plan; returns its URL."""
        context = await self.contexts.of(session, subscribed=True)
        plan = context.plan
        if plan is None or not plan.uses_tokens:
            raise PermissionDenied('Tokens can only be bought on a plan that uses them, such as Flexible.')
        if not isinstance(packs, int) or not 1 <= packs <= MAX_TOKEN_PACKS:
            raise ValidationFailed({'quantity': f'Choose from 1 to {MAX_TOKEN_PACKS} packs.'})
        pack = plan.token_pack
        tokens = packs * pack.size
        base = self.settings.base_url
        checkout = await self.open_checkout(
            context.account, f'tokens-{packs}', mode='payment', customer=context.account.stripe_customer_id,
            client_reference_id=str(context.organization.id),
            line_items=[{'price': await self.prices.price_id(plan.token_pack_lookup_key), 'quantity': packs}],
            invoice_creation={'enabled': True},
            metadata={'organization_id': str(context.organization.id), 'purpose': 'tokens', 'packs': str(packs),
                      'tokens': str(tokens)},
            success_url=f'{base}/admin?checkout_session={{CHECKOUT_SESSION_ID}}', cancel_url=f'{base}/admin',
        )  # fmt: skip
        await audit.record(
            actor=context.admin, action='billing.token_checkout_started', target_type='tokens',
            target_label=checkout['id'],  # for the completed checkout to name its buyer (audit.actor_of)
            after={'packs': packs, 'tokens': tokens, 'total': format_money(pack.price * packs, plan.currency)},
        )  # fmt: skip
        return checkout['url']

    async def history(self, *, session: Session | None, limit: int = 200) -> list[TokenLedgerEntry]:
        context = await self.contexts.of(session)
        entries = TokenLedgerEntry.filter(organization_id=context.organization.id)
        return await entries.order_by('-created_at', '-id').limit(limit)

    async def charge_reversed(self, charge_id: str) -> None:
        """A refund or a dispute on a charge: a token purchase gives back its share of the tokens, once."""
        charge = await self.gateway.call('charges', 'retrieve', charge_id)
        if not charge.get('payment_intent'):
            return
        sessions = await self.gateway.call('checkout.sessions', 'list', payment_intent=charge['payment_intent'])
        purchase = next(iter(sessions['data']), None)
        if purchase is None:  # not a checkout: an auto top-up's own PaymentIntent, or a subscription invoice's
            purchase = await self.gateway.call('payment_intents', 'retrieve', charge['payment_intent'])
        if not purchased_tokens(purchase):
            return  # a subscription invoice, say: its refund changes no tokens
        if (owner := await checkout_owner(purchase)) is None:
            return
        refunds = await self.gateway.list_all('refunds', charge=charge_id)
        disputes = await self.gateway.list_all('disputes', charge=charge_id)
        async with self.contexts.exclusive_for(owner):
            taken = await take_back(organization_id=owner, checkout=purchase, charge=charge, refunds=refunds,
                                    disputes=disputes)  # fmt: skip
        if taken:
            self.contexts.publish(owner)


def purchased_tokens(checkout: dict) -> int:
    """The tokens a Checkout session, or an auto top-up's PaymentIntent, sells (0 for any other)."""
    metadata = checkout.get('metadata') or {}
    bought = checkout.get('mode') == 'payment' and metadata.get('purpose') == 'tokens'
    topped_up = checkout.get('object') == 'payment_intent' and metadata.get('purpose') == 'auto_top_up'
    if not (bought or topped_up):
        return 0
    tokens = str(metadata.get('tokens') or '0')
    return int(tokens) if tokens.isdigit() else 0


async def credit_tokens_once(*, organization_id: int, checkout: dict) -> bool:
    """Credit a token checkout once Stripe reports it paid (a bank debit may complete unpaid and settle later)."""
    tokens = purchased_tokens(checkout)
    if tokens <= 0 or checkout.get('payment_status') != 'paid':
        return False
    packs = (checkout.get('metadata') or {}).get('packs', '?')
    return await _write(
        organization_id, tokens, kind='purchase', checkout_session_id=checkout['id'],
        description=f'Bought {packs} token pack(s): {tokens:,} tokens',
        audit_action='billing.tokens_credited', audit_label=checkout['id'], audit_after={'amount': _total(checkout)},
    )  # fmt: skip


async def credit_top_up_once(*, organization_id: int, intent: dict) -> bool:
    """Credit an auto top-up once its PaymentIntent succeeded: one ledger entry per PaymentIntent."""
    tokens = purchased_tokens(intent)
    if tokens <= 0 or intent.get('status') != 'succeeded':
        return False
    return await _write(
        organization_id, tokens, kind='auto_top_up', reference=intent['id'],
        description=intent.get('description') or f'Auto top-up: {tokens:,} tokens',
        audit_action='billing.auto_top_up', audit_label=intent['id'], audit_after={'amount': _money(intent)},
    )  # fmt: skip


async def note_pending_payment(*, organization_id: int, checkout: dict) -> bool:
    """A checkout completed but not yet paid (a bank debit): the history says the tokens are on their way."""
    tokens = purchased_tokens(checkout)
    if tokens <= 0 or checkout.get('payment_status') == 'paid':
        return False
    return await _write(
        organization_id, 0, kind='pending', reference=f'pending:{checkout["id"]}',
        description=f'Payment processing: {tokens:,} tokens are credited once the bank confirms it',
    )  # fmt: skip


async def note_failed_payment(*, organization_id: int, checkout: dict) -> bool:
    """The bank debit of a checkout failed: nothing is credited, and the ledger and the audit log say so."""
    tokens = purchased_tokens(checkout)
    if tokens <= 0 or checkout.get('payment_status') == 'paid':
        return False
    return await _write(
        organization_id, 0, kind='payment_failed', reference=f'failed:{checkout["id"]}',
        description=f'Payment failed: {tokens:,} tokens were not credited',
        audit_action='billing.token_payment_failed', audit_label=checkout['id'],
        audit_after={'ordered': tokens, 'amount': _total(checkout)},
    )  # fmt: skip


async def take_back(
    *, organization_id: int, checkout: dict, charge: dict, refunds: list[dict], disputes: list[dict]
) -> int:
    """Take back the tokens of what was refunded or lost in a dispute on the charge of a token checkout.

    Refunds are taken in the order they happened, each its share of the tokens, rounded so that the shares add up
    to the tokens of what was refunded in all; a lost dispute takes what is left. Returns the tokens taken now.
    """
    tokens, amount = purchased_tokens(checkout), charge.get('amount') or 0
    if tokens <= 0 or amount <= 0:
        return 0
    taken, refunded = 0, 0
    for refund in sorted(refunds, key=lambda refund: (refund.get('created') or 0, refund['id'])):
        if refund.get('status') not in ('succeeded', 'pending'):
            continue
        refunded += refund.get('amount') or 0
        share = min(tokens, round(tokens * refunded / amount)) - taken
        taken += share
        await _write(
            organization_id, -share, kind='refund', reference=f'refund:{refund["id"]}',
            description=f'Refund of {_money(refund)}: {share:,} tokens taken back',
            audit_action='billing.tokens_refunded', audit_label=refund['id'], audit_after={'amount': _money(refund)},
        )  # fmt: skip
    for dispute in disputes:
        if dispute.get('status') != 'lost':
            continue
        share = tokens - taken
        taken = tokens
        await _write(
            organization_id, -share, kind='dispute', reference=f'dispute:{dispute["id"]}',
            description=f'Dispute lost: {share:,} tokens taken back',
            audit_action='billing.tokens_disputed', audit_label=dispute['id'], audit_after={'amount': _money(dispute)},
        )  # fmt: skip
    return taken


async def _write(
    organization_id: int, delta: int, *, kind: str, description: str, checkout_session_id: str | None = None,
    reference: str | None = None, audit_action: str = '', audit_label: str = '', audit_after: dict | None = None,
) -> bool:  # fmt: skip
    """One entry and the balance, once per cause; False when it was written before."""
    try:
        async with in_transaction():
            await TokenLedgerEntry.create(
                organization_id=organization_id, delta=delta, kind=kind, description=description,
                checkout_session_id=checkout_session_id, reference=reference,
            )  # fmt: skip
            if delta:
                await BillingAccount.filter(organization_id=organization_id).update(
                    token_balance=F('token_balance') + delta
                )
            if delta > 0:
                await rearm_low_balance(organization_id)
            if audit_action:
                await audit.record_system(
                    organization_id=organization_id, action=audit_action, target_type='tokens',
                    target_label=audit_label,
                    after={'tokens': delta, 'description': description, **(audit_after or {})},
                )  # fmt: skip
    except IntegrityError:
        return False  # this cause was entered before: a repeated webhook, the return page, or another process
    log.info('organization %s tokens %+d (%s): %s', organization_id, delta, kind, description)
    return True


async def rearm_low_balance(organization_id: int) -> None:
    """A credit that lifts the balance to a threshold or above arms it again: the alert, and auto top-up."""
    rearmed = BillingAccount.filter(
        organization_id=organization_id, low_balance_alerted=True, token_balance__gte=F('low_balance_threshold')
    )
    await rearmed.update(low_balance_alerted=False)
    await BillingAccount.filter(
        organization_id=organization_id, auto_topup_armed=False, token_balance__gte=F('auto_topup_below')
    ).update(auto_topup_armed=True)


def _money(payment: dict) -> str:
    """What a refund, a dispute or a PaymentIntent is for, as the audit log shows it."""
    return format_money(payment.get('amount') or 0, payment.get('currency') or 'usd')


def _total(checkout: dict) -> str:
    return format_money(checkout.get('amount_total') or 0, checkout.get('currency') or 'usd')

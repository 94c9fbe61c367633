"""Prepaid tokens: buying packs through Checkout, with the default card at once, or by auto top-up; the ledger and
the balance.

A purchase is credited once, when Stripe says it is paid; a payment that fails later credits nothing and says so;
a refund or a lost dispute takes its share of the tokens back. Each ledger entry is unique by what caused it (the
Checkout session for a credit, the PaymentIntent of a purchase with the default card or of an auto top-up, the
refund, the dispute or the failed session for the rest), and written in one transaction with the balance, so a
repeated or late webhook changes nothing twice. The balance may go below zero when tokens already spent are taken
back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db.models import BillingAccount, TokenLedgerEntry, User
from services import audit
from services.auth import Session
from services.billing.context import BillingContext, Contexts, checkout_owner
from services.billing.gateway import PaymentFailed
from services.errors import PermissionDenied, ValidationFailed
from services.plans import Plan, TokenPack, format_money
from services.words import plural

if TYPE_CHECKING:
    from services.billing.gateway import StripeGateway
    from services.settings import Settings

OpenCheckout = Callable[..., Awaitable[dict]]  # Checkouts.open, handed in: checkout itself credits tokens through here

log = logging.getLogger('portico.billing')
MAX_TOKEN_PACKS = 100
# What a PaymentIntent of Portico's own buys (its metadata's purpose); a Checkout session's purpose is 'tokens'.
AUTO_TOP_UP, WITH_DEFAULT_CARD = 'auto_top_up', 'default_card_purchase'
REQUEST = re.compile(r'[A-Za-z0-9_-]{8,64}')


@dataclass(frozen=True)
class TokenOffer:
    """What "+ Add tokens" offers: packs of `pack_size` at `pack_price`, and the default card that can pay for them
    at once (brand '' when there is none: then only Checkout)."""

    pack_size: int
    pack_price: int
    currency: str
    card_brand: str
    card_last4: str
    max_packs: int = MAX_TOKEN_PACKS


@dataclass(frozen=True)
class TokenPurchase:
    """What a purchase with the default card did: `paid` (its tokens are on the balance), or `refusal` in Stripe's
    words (declined, or the bank asks for 3-D Secure): then nothing was charged or credited."""

    tokens: int
    amount: str
    paid: bool
    refusal: str = ''


@dataclass(frozen=True, kw_only=True)
class Tokens:
    settings: Settings
    gateway: StripeGateway
    contexts: Contexts
    open_checkout: OpenCheckout

    async def start_checkout(self, *, session: Session | None, packs: int) -> str:
        """A Checkout session (mode payment) for `packs` token packs of the organization's plan; returns its URL.

        It reads as what it sells: the line item is the pack by name ("Token pack (1,000 tokens)", Stripe shows a
        line item's product name), the text by the pay button says "Buy 3,000 tokens" (the emulator makes it the
        page's heading) and, below it, for which organization.
        """
        context = await self.contexts.of(session, subscribed=True)
        plan, packs = _token_plan(context), _checked_packs(packs)
        pack, tokens, organization = plan.token_pack, packs * plan.token_pack.size, context.organization
        base = self.settings.base_url
        params = dict(
            mode='payment', customer=context.account.stripe_customer_id, client_reference_id=str(organization.id),
            line_items=[{'price_data': {'currency': plan.currency, 'unit_amount': pack.price,
                                        'product_data': {'name': pack_name(pack),
                                                         'metadata': {'portico_plan': plan.id}}},
                         'quantity': packs}],
            custom_text={'submit': {'message': headline(tokens)},
                         'after_submit': {'message': f'For {organization.name}: the tokens are added to its balance '
                                                     'as soon as the payment goes through.'}},
            invoice_creation={'enabled': True},
            metadata={'organization_id': str(organization.id), 'purpose': 'tokens', 'packs': str(packs),
                      'tokens': str(tokens)},
            success_url=f'{base}/admin?checkout_session={{CHECKOUT_SESSION_ID}}', cancel_url=f'{base}/admin',
        )  # fmt: skip
        # The key names what the session says: a double click gets the same session, a renamed organization a new one.
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
        checkout = await self.open_checkout(context.account, f'tokens-{packs}-{digest}', **params)
        await audit.record(
            actor=context.admin, action='billing.token_checkout_started', target_type='tokens',
            target_label=checkout['id'],  # for the completed checkout to name its buyer (audit.actor_of)
            after={'packs': packs, 'tokens': tokens, 'total': format_money(pack.price * packs, plan.currency)},
        )  # fmt: skip
        return checkout['url']

    async def offer(self, *, session: Session | None) -> TokenOffer:
        """What "+ Add tokens" shows: the pack, and the default card it can charge at once, if there is one."""
        context = await self.contexts.of(session, subscribed=True)
        plan = _token_plan(context)
        card = (await default_card(self.gateway, context.account) or {}).get('card') or {}
        return TokenOffer(pack_size=plan.token_pack.size, pack_price=plan.token_pack.price, currency=plan.currency,
                          card_brand=card.get('brand', ''), card_last4=card.get('last4', ''))  # fmt: skip

    async def buy_with_default_card(self, *, session: Session | None, packs: int, request: str) -> TokenPurchase:
        """Buy `packs` packs with the default card at once: an off-session PaymentIntent, credited once.

        `request` names the click (the dialog makes one when it opens): it is the PaymentIntent's idempotency key, so
        a double click or a retry of it charges once and gets the same answer. The tokens are credited by whichever
        comes first, this answer or the webhook payment_intent.succeeded (once per PaymentIntent). A declined card,
        or one whose bank asks for 3-D Secure (nobody can confirm it off session), charges and credits nothing: the
        refusal is returned in Stripe's words, and Checkout remains.
        """
        packs = _checked_packs(packs)
        if not isinstance(request, str) or not REQUEST.fullmatch(request):
            raise ValidationFailed({'quantity': 'Open "+ Add tokens" again to buy tokens.'})
        async with self.contexts.exclusive(session) as context:
            plan = _token_plan(context)
            tokens, amount = packs * plan.token_pack.size, format_money(packs * plan.token_pack.price, plan.currency)
            card = await default_card(self.gateway, context.account)
            if card is None:
                raise PermissionDenied('There is no default card to pay with: proceed to checkout instead.')
            try:
                intent = await charge_packs(
                    self.gateway, organization_id=context.organization.id,
                    customer=context.account.stripe_customer_id, card=card['id'], plan=plan, packs=packs,
                    key=f'portico-org{context.organization.id}-tokens-now-{request}', purpose=WITH_DEFAULT_CARD,
                    description=f'{headline(tokens)}: {packs} × {pack_name(plan.token_pack)}',
                )  # fmt: skip
            except PaymentFailed as refusal:
                log.info('organization %s: the default card was refused for %s tokens: %s',
                         context.organization.id, tokens, refusal)  # fmt: skip
                return TokenPurchase(tokens=tokens, amount=amount, paid=False, refusal=str(refusal))
            await credit_payment_once(organization_id=context.organization.id, intent=intent, buyer=context.admin)
        self.contexts.publish(context.organization.id)
        return TokenPurchase(tokens=tokens, amount=amount, paid=intent.get('status') == 'succeeded')

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


def pack_name(pack: TokenPack) -> str:
    """ "Token pack (1,000 tokens)": what Checkout and the PaymentIntent call one pack."""
    return f'Token pack ({pack.size:,} tokens)'


def headline(tokens: int) -> str:
    return f'Buy {tokens:,} tokens'


def purchased_tokens(checkout: dict) -> int:
    """The tokens a Checkout session, or a PaymentIntent of Portico's own (default card, auto top-up), sells (0 for
    any other, such as the PaymentIntent of a Checkout session: the session is what sells)."""
    metadata = checkout.get('metadata') or {}
    bought = checkout.get('mode') == 'payment' and metadata.get('purpose') == 'tokens'
    charged = checkout.get('object') == 'payment_intent' and metadata.get('purpose') in (AUTO_TOP_UP, WITH_DEFAULT_CARD)
    if not (bought or charged):
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
        description=_bought(packs, tokens),
        audit_action='billing.tokens_credited', audit_label=checkout['id'], audit_after={'amount': _total(checkout)},
    )  # fmt: skip


async def credit_payment_once(*, organization_id: int, intent: dict, buyer: User | None = None) -> bool:
    """Credit a PaymentIntent of Portico's own once it succeeded: one ledger entry per PaymentIntent, whoever asks
    first (the answer to the request, or the webhook). A purchase with the default card is a 'purchase' like a
    checkout's, and names its `buyer` in the audit log when the buyer's own request credits it."""
    tokens = purchased_tokens(intent)
    if tokens <= 0 or intent.get('status') != 'succeeded':
        return False
    if (intent.get('metadata') or {}).get('purpose') == AUTO_TOP_UP:
        return await _write(
            organization_id, tokens, kind=AUTO_TOP_UP, reference=intent['id'],
            description=intent.get('description') or f'Auto top-up: {tokens:,} tokens',
            audit_action='billing.auto_top_up', audit_label=intent['id'], audit_after={'amount': _money(intent)},
        )  # fmt: skip
    packs = (intent.get('metadata') or {}).get('packs', '?')
    return await _write(
        organization_id, tokens, kind='purchase', reference=intent['id'],
        description=_bought(packs, tokens), actor=buyer,
        audit_action='billing.tokens_bought' if buyer else 'billing.tokens_credited', audit_label=intent['id'],
        audit_after={'amount': _money(intent)},
    )  # fmt: skip


async def charge_packs(
    gateway: StripeGateway, *, organization_id: int, customer: str, card: str, plan: Plan, packs: int, key: str,
    purpose: str, description: str, metadata: dict | None = None,
) -> dict:  # fmt: skip
    """Charge `packs` token packs to a saved card now: an off-session PaymentIntent, confirmed at once, whose
    metadata says what it buys (for `credit_payment_once`, and for taking it back after a refund). Raises
    PaymentFailed when the card is declined or its bank asks for 3-D Secure."""
    return await gateway.call(
        'payment_intents', 'create', key=key, amount=packs * plan.token_pack.price, currency=plan.currency,
        customer=customer, payment_method=card, off_session=True, confirm=True, allowed_payment_method_types=['card'],
        description=description,
        metadata={'organization_id': str(organization_id), 'purpose': purpose, 'packs': str(packs),
                  'tokens': str(packs * plan.token_pack.size), **(metadata or {})},
    )  # fmt: skip


async def default_card(gateway: StripeGateway, account: BillingAccount) -> dict | None:
    """The customer's default payment method, when it is a card (the card "Payment methods" marks Default)."""
    if not account.stripe_customer_id:
        return None
    customer = await gateway.call('customers', 'retrieve', account.stripe_customer_id,
                                  expand=['invoice_settings.default_payment_method'])  # fmt: skip
    card = (customer.get('invoice_settings') or {}).get('default_payment_method')
    return card if isinstance(card, dict) and card.get('type') == 'card' else None


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
    actor: User | None = None,
) -> bool:  # fmt: skip
    """One entry and the balance, once per cause; False when it was written before. The audit event is the
    `actor`'s when an admin's own request caused it, else Stripe's."""
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
                after = {'tokens': delta, 'description': description, **(audit_after or {})}
                if actor is not None:
                    await audit.record(actor=actor, action=audit_action, target_type='tokens',
                                       target_label=audit_label, after=after)  # fmt: skip
                else:
                    await audit.record_system(organization_id=organization_id, action=audit_action,
                                              target_type='tokens', target_label=audit_label, after=after)  # fmt: skip
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


def _bought(packs: object, tokens: int) -> str:
    """What the Token history says of a purchase, through Checkout or with the default card."""
    packs = plural(int(packs), 'token pack') if str(packs).isdigit() else 'token packs'
    return f'Bought {packs}: {tokens:,} tokens'


def _checked_packs(packs: int) -> int:
    if isinstance(packs, bool) or not isinstance(packs, int) or not 1 <= packs <= MAX_TOKEN_PACKS:
        raise ValidationFailed({'quantity': f'Choose from 1 to {MAX_TOKEN_PACKS} packs.'})
    return packs


def _token_plan(context: BillingContext) -> Plan:
    if context.plan is None or not context.plan.uses_tokens:
        raise PermissionDenied('Tokens can only be bought on a plan that uses them, such as Flexible.')
    return context.plan


def _money(payment: dict) -> str:
    """What a refund, a dispute or a PaymentIntent is for, as the audit log shows it."""
    return format_money(payment.get('amount') or 0, payment.get('currency') or 'usd')


def _total(checkout: dict) -> str:
    return format_money(checkout.get('amount_total') or 0, checkout.get('currency') or 'usd')

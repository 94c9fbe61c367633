"""Auto top-up: below N tokens, K token packs are bought with the default card, at most M times per calendar month
(UTC).

- The crossing is decided inside the transaction of the consumption (`claim_crossing`): one conditional UPDATE
  disarms the account (`armed AND below IS NOT NULL AND error = '' AND balance < below`), so only the transaction whose
  update changed the row owns it. The ledger entry of that consumption names the crossing. At the month's cap nothing
  is bought, and the account stays armed: a consumption in a later month crosses anew.
- After the commit, `auto_top_up_due()` is published and the purchase runs in the background (`top_up`): an
  off-session PaymentIntent whose idempotency key is the crossing's, so one crossing never pays twice, however often
  its task runs. Its tokens are credited once per PaymentIntent (`tokens.credit_payment_once`), and a credit that lifts
  the balance to N or above arms auto top-up again (`tokens.rearm_low_balance`).
- A declined card, or one that asks for 3-D Secure (off session nobody is there to answer), switches auto top-up
  off with Stripe's words (`auto_topup_error`), and every enabled admin gets one mail. Saving the settings turns it
  on again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db.models import BillingAccount, SubscriptionMirror, TokenLedgerEntry
from services import audit
from services.auth import Session
from services.billing.context import BillingContext, Contexts
from services.billing.gateway import BillingUnavailable, PaymentFailed, StripeGateway
from services.billing.mirror import is_live
from services.billing.tokens import AUTO_TOP_UP, MAX_TOKEN_PACKS, charge_packs, credit_payment_once, default_card
from services.errors import PermissionDenied, ValidationFailed
from services.events import auto_top_up_due, auto_top_up_failed
from services.moments import now, whole
from services.plans import Plan

log = logging.getLogger('portico.billing')
KIND = AUTO_TOP_UP
MAX_MONTHLY_CAP = 31
MAX_THRESHOLD = 10**12
NO_CARD = 'Auto top-up pays with the default card: add a card in "Payment methods" first.'
NOT_HERE = 'Auto top-up is only for a subscription whose plan uses tokens, such as Flexible.'


@dataclass(frozen=True)
class AutoTopUpStatus:
    """Auto top-up as the Subscription section tells it; `below` None is off."""

    below: int | None
    packs: int
    monthly_cap: int
    error: str  # why it was switched off, in Stripe's words
    used_this_month: int
    pack_size: int

    @property
    def on(self) -> bool:
        return self.below is not None and not self.error

    @property
    def at_cap(self) -> bool:
        return self.on and self.used_this_month >= self.monthly_cap

    @property
    def line(self) -> str:
        """One sentence for the section ('' when off); `at_cap` and `error` need the admin's attention."""
        if self.error:
            return f'Auto top-up was switched off: {self.error}'
        if not self.on:
            return ''
        if self.at_cap:
            return f'Auto top-up reached its limit of {self.monthly_cap} this month.'
        times = 'once' if self.monthly_cap == 1 else f'{self.monthly_cap} times'
        return (f'Auto top-up buys {describe(self.packs, self.packs * self.pack_size)} with the default card when '
                f'fewer than {self.below:,} are left, at most {times} a month.')  # fmt: skip

    @classmethod
    async def of(cls, account: BillingAccount, plan: Plan | None) -> AutoTopUpStatus | None:
        """None on a plan without tokens."""
        if plan is None or not plan.uses_tokens:
            return None
        used = await used_this_month(account.organization_id) if account.auto_topup_below is not None else 0
        return cls(below=account.auto_topup_below, packs=account.auto_topup_packs,
                   monthly_cap=account.auto_topup_monthly_cap, error=account.auto_topup_error,
                   used_this_month=used, pack_size=plan.token_pack.size)  # fmt: skip


@dataclass(frozen=True)
class AutoTopUpOffer:
    """What the dialog shows: the settings, the price of a pack, and the default card (brand '' when none)."""

    status: AutoTopUpStatus
    pack_price: int
    currency: str
    card_brand: str
    card_last4: str
    max_packs: int = MAX_TOKEN_PACKS
    max_monthly_cap: int = MAX_MONTHLY_CAP


@dataclass(frozen=True, kw_only=True)
class AutoTopUps:
    gateway: StripeGateway
    contexts: Contexts
    _buying: set[asyncio.Task] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.contexts.events.subscribe(auto_top_up_due(), self._due)

    async def offer(self, *, session: Session | None) -> AutoTopUpOffer:
        context = await self.contexts.of(session, subscribed=True)
        plan = _token_plan(context)
        card = await default_card(self.gateway, context.account) or {}
        return AutoTopUpOffer(
            status=await AutoTopUpStatus.of(context.account, plan), pack_price=plan.token_pack.price,
            currency=plan.currency, card_brand=(card.get('card') or {}).get('brand', ''),
            card_last4=(card.get('card') or {}).get('last4', ''),
        )  # fmt: skip

    async def save(self, *, session: Session | None, below, packs, monthly_cap) -> AutoTopUpStatus:
        """Turn auto top-up on with these settings (again, after it was switched off): below `below` tokens, buy
        `packs` packs, at most `monthly_cap` times a month. A balance already below starts at its next consumption."""
        chosen = _checked(below, packs, monthly_cap)
        async with self.contexts.exclusive(session) as context:
            plan = _token_plan(context)
            if await default_card(self.gateway, context.account) is None:
                raise PermissionDenied(NO_CARD)
            account = context.account
            before = {'below': account.auto_topup_below, 'packs': account.auto_topup_packs,
                      'monthly_cap': account.auto_topup_monthly_cap}  # fmt: skip
            async with in_transaction():
                await BillingAccount.filter(id=account.id).update(
                    auto_topup_below=chosen['below'], auto_topup_packs=chosen['packs'],
                    auto_topup_monthly_cap=chosen['monthly_cap'], auto_topup_armed=True, auto_topup_error='',
                )  # fmt: skip
                await audit.record(actor=context.admin, action='billing.auto_top_up_set', target_type='tokens',
                                   before=before, after=chosen)  # fmt: skip
        self.contexts.publish(context.organization.id)
        return await AutoTopUpStatus.of(await BillingAccount.get(id=account.id), plan)

    async def turn_off(self, *, session: Session | None) -> AutoTopUpStatus | None:
        async with self.contexts.exclusive(session, subscribed=False) as context:
            async with in_transaction():
                await BillingAccount.filter(id=context.account.id).update(
                    auto_topup_below=None, auto_topup_armed=True, auto_topup_error=''
                )
                await audit.record(actor=context.admin, action='billing.auto_top_up_off', target_type='tokens',
                                   before={'below': context.account.auto_topup_below})  # fmt: skip
        self.contexts.publish(context.organization.id)
        return await AutoTopUpStatus.of(await BillingAccount.get(id=context.account.id), context.plan)

    async def top_up(self, organization_id: int, crossing: int) -> str:
        """Buy the packs of one crossing (named by the ledger entry that crossed) with the default card, at most once
        however often it runs; returns what happened ('bought', 'credited before', 'capped', 'switched off', …)."""
        async with self.contexts.exclusive_for(organization_id):
            outcome = await self._top_up(organization_id, crossing)
        log.info('organization %s auto top-up of crossing %s: %s', organization_id, crossing, outcome)
        self.contexts.publish(organization_id)
        return outcome

    async def drain(self) -> None:
        """Wait until every purchase started so far has finished (tests, shutdown)."""
        while self._buying:
            await asyncio.gather(*self._buying, return_exceptions=True)

    def _due(self, payload: tuple[int, int]) -> None:
        task = asyncio.get_running_loop().create_task(self._in_background(*payload))
        self._buying.add(task)
        task.add_done_callback(self._buying.discard)

    async def _in_background(self, organization_id: int, crossing: int) -> None:
        try:
            await self.top_up(organization_id, crossing)
        except Exception:
            log.exception('the auto top-up of organization %s (crossing %s) failed', organization_id, crossing)

    async def _top_up(self, organization_id: int, crossing: int) -> str:
        account = await BillingAccount.get_or_none(organization_id=organization_id)
        if account is None or account.auto_topup_below is None or account.auto_topup_error:
            return 'off'  # turned off, or switched off, since the crossing
        subscription = await SubscriptionMirror.get_or_none(organization_id=organization_id)
        plan = self.contexts.plan(subscription.plan_id) if subscription else None
        if plan is None or not plan.uses_tokens or not is_live(subscription):
            await _rearm(organization_id)  # nothing to buy now; a consumption once it is live again crosses anew
            return 'not live'
        if await used_this_month(organization_id) >= account.auto_topup_monthly_cap:
            await _rearm(organization_id)  # as a crossing at the cap leaves it: a later month buys again
            return 'capped'
        card = await default_card(self.gateway, account)
        if card is None:
            return await self._switch_off(organization_id, NO_CARD)
        packs = account.auto_topup_packs
        tokens = packs * plan.token_pack.size
        try:
            intent = await charge_packs(
                self.gateway, organization_id=organization_id, customer=account.stripe_customer_id, card=card['id'],
                plan=plan, packs=packs, key=f'portico-org{organization_id}-autotopup-{crossing}', purpose=KIND,
                description=f'Auto top-up: {describe(packs, tokens)}', metadata={'crossing': str(crossing)},
            )  # fmt: skip
        except PaymentFailed as refusal:
            return await self._switch_off(organization_id, str(refusal))
        except BillingUnavailable:
            await _rearm(organization_id)  # Stripe did not answer (after the SDK's retries): the next consumption tries
            return 'unavailable'
        if await credit_payment_once(organization_id=organization_id, intent=intent):
            return 'bought'
        return 'credited before' if intent.get('status') == 'succeeded' else f'payment {intent.get("status")}'

    async def _switch_off(self, organization_id: int, reason: str) -> str:
        """Once: the reason is kept (the section shows it), the audit log says so, and the admins are mailed."""
        async with in_transaction():
            switched = await BillingAccount.filter(organization_id=organization_id, auto_topup_error='').update(
                auto_topup_error=reason[:500]
            )
            if switched:
                await audit.record_system(organization_id=organization_id, action='billing.auto_top_up_failed',
                                          target_type='tokens', after={'reason': reason})  # fmt: skip
        if switched:
            self.contexts.events.publish(auto_top_up_failed(), organization_id)
        return 'switched off'


async def claim_crossing(organization_id: int) -> bool:
    """Inside the transaction of a consumption, after its debit: True for the one consumption that took the balance
    below the threshold while armed (it disarms it). At the month's cap it stays armed, and nothing is to be bought."""
    crossed = await BillingAccount.filter(
        organization_id=organization_id, auto_topup_armed=True, auto_topup_below__not_isnull=True,
        auto_topup_error='', token_balance__lt=F('auto_topup_below'),
    ).update(auto_topup_armed=False)  # fmt: skip
    if not crossed:
        return False
    cap = (await BillingAccount.get(organization_id=organization_id)).auto_topup_monthly_cap
    if await used_this_month(organization_id) < cap:
        return True
    await _rearm(organization_id)
    return False


async def used_this_month(organization_id: int) -> int:
    """Auto top-ups bought since the first of this month (UTC)."""
    start = now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return await TokenLedgerEntry.filter(organization_id=organization_id, kind=KIND, created_at__gte=start).count()


def describe(packs: int, tokens: int) -> str:
    """ "2 packs (2,000 tokens)"."""
    return f'{packs} pack{"s" if packs != 1 else ""} ({tokens:,} tokens)'


async def _rearm(organization_id: int) -> None:
    await BillingAccount.filter(organization_id=organization_id).update(auto_topup_armed=True)


def _token_plan(context: BillingContext) -> Plan:
    if context.plan is None or not context.plan.uses_tokens:
        raise PermissionDenied(NOT_HERE)
    return context.plan


def _checked(below, packs, monthly_cap) -> dict:
    """The settings as whole numbers in range, or ValidationFailed naming each field that is not."""
    limits = {
        'below': (below, MAX_THRESHOLD, 'Enter a whole number of tokens, at least 1.'),
        'packs': (packs, MAX_TOKEN_PACKS, f'Choose from 1 to {MAX_TOKEN_PACKS} packs, as "+ Add tokens" allows.'),
        'monthly_cap': (monthly_cap, MAX_MONTHLY_CAP, f'Choose from 1 to {MAX_MONTHLY_CAP} top-ups a month.'),
    }
    values, errors = {}, {}
    for name, (given, high, message) in limits.items():
        values[name] = None if isinstance(given, bool) else whole(given)
        if values[name] is None or not 1 <= values[name] <= high:
            errors[name] = message
    if errors:
        raise ValidationFailed(errors)
    return values

"""Spending tokens: what the product consumes, the credits an operator grants, the ledger it pages through, the
portal's usage chart, and the low-balance alert.

A consumption is one transaction: the idempotency record, one conditional `UPDATE … SET balance = balance - n WHERE
balance >= n`, its ledger row, and the checks of the low-balance alert and of auto top-up, whose mails and purchase
follow its commit. The balance never goes below zero by a consumption. The same idempotency key with
the same body gets the first answer again; with another body it is refused. A refusal (too few tokens, not live)
changes nothing and is not kept: the same key may be tried again once the balance allows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db.models import ApiIdempotency, BillingAccount, TokenLedgerEntry
from services.auth import Session
from services.billing.auto_top_up import claim_crossing
from services.billing.context import Contexts
from services.billing.tokens import rearm_low_balance
from services.errors import ValidationFailed
from services.events import auto_top_up_due, tokens_low
from services.moments import now
from services.product_webhooks import ProductWebhooks

if TYPE_CHECKING:
    from services.entitlements import EntitlementsReader

MAX_AMOUNT = 10**12
KEEP_KEYS = timedelta(hours=24)


@dataclass(frozen=True)
class Outcome:
    """The answer to a consumption or a grant: an HTTP-like status and its body, kept for a repeat of the key."""

    status: int  # 200, 402 insufficient_tokens, 403 subscription_inactive, 404 no such organization, 409 key reused
    body: dict


class KeyReused(ValidationFailed):
    """The idempotency key was used with another body."""


@dataclass(frozen=True, kw_only=True)
class Usage:
    contexts: Contexts
    entitlements: EntitlementsReader
    product: ProductWebhooks

    async def consume(self, *, organization_id: int, amount: int, idempotency_key: str, description: str = '',
                      metadata: dict | None = None) -> Outcome:  # fmt: skip
        request = {'amount': amount, 'description': description, 'metadata': metadata or {}}
        return await self._once(organization_id, idempotency_key, request, self._consume)

    async def grant(self, *, organization_id: int, amount: int, idempotency_key: str, reason: str = '') -> Outcome:
        """Promotional credits, recorded as a grant."""
        request = {'amount': amount, 'reason': reason}
        return await self._once(organization_id, idempotency_key, request, self._grant)

    async def _once(self, organization_id: int, key: str, request: dict, act) -> Outcome:
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        # A repeat of a key finds its first answer when its insert below fails: a new key costs no look-up.
        entitlements = await self.entitlements.liveness(organization_id)
        if entitlements is None:
            return Outcome(404, {'code': 'resource_missing', 'message': f'No organization {organization_id}.'})
        after_commit: list[tuple] = []
        try:
            async with in_transaction():
                # The key first: a parallel request with the same key waits here, then finds the first answer.
                record = await ApiIdempotency.create(organization_id=organization_id, key=key, request_digest=digest,
                                                     status=0, response={})  # fmt: skip
                outcome, after_commit = await act(entitlements, key, request)
                if outcome.status != 200:
                    # A refusal (too few tokens, not live) changed nothing: the key stays free for a later try.
                    raise _NotKept(outcome)
                await ApiIdempotency.filter(id=record.id).update(status=outcome.status, response=outcome.body)
        except _NotKept as not_kept:
            return not_kept.outcome
        except IntegrityError:
            return await self._first_answer(organization_id, key, digest) or Outcome(
                409, {'code': 'idempotency_key_in_use', 'message': 'A request with this key is still running.'}
            )
        for topic, payload in after_commit:  # the admins' mail, an auto top-up's purchase
            self.contexts.events.publish(topic, payload)
        self.contexts.publish(organization_id)
        return outcome

    @staticmethod
    async def _first_answer(organization_id: int, key: str, digest: str) -> Outcome | None:
        first = await ApiIdempotency.get_or_none(organization_id=organization_id, key=key)
        if first is None or first.status == 0:
            return None
        if first.request_digest != digest:
            return Outcome(409, {'code': 'idempotency_key_reused', 'message': 'This idempotency key was used with '
                                 'another request. Use a new key for a new request.'})  # fmt: skip
        return Outcome(first.status, first.response)

    async def _consume(self, entitlements, key: str, request: dict) -> tuple[Outcome, list[tuple]]:
        organization_id, amount = entitlements.organization_id, request['amount']
        if not entitlements.is_live:
            status = entitlements.status
            message = f'The organization is not live: its status is {status}.'
            return Outcome(403, {'code': 'subscription_inactive', 'message': message, 'status': status}), []
        debited = await BillingAccount.filter(organization_id=organization_id, token_balance__gte=amount).update(
            token_balance=F('token_balance') - amount
        )  # no account yet is a balance of 0: nothing is debited
        if not debited:
            account = await BillingAccount.get_or_none(organization_id=organization_id)
            balance = account.token_balance if account else 0
            return Outcome(402, {'code': 'insufficient_tokens', 'message': f'The balance is {balance:,} tokens, '
                                 f'less than {amount:,}.', 'balance': balance}), []  # fmt: skip
        entry = await TokenLedgerEntry.create(
            organization_id=organization_id, delta=-amount, kind='consumption', reference=_reference(entitlements, key),
            description=(request['description'] or 'Used by the product')[:300],
        )  # fmt: skip
        after_commit = [(tokens_low(), organization_id)] if await self.check_low_balance(organization_id) else []
        if await claim_crossing(organization_id):
            after_commit.append((auto_top_up_due(), (organization_id, entry.id)))
        return Outcome(200, {'balance': await _balance(organization_id), 'entry': ledger_row(entry)}), after_commit

    async def _grant(self, entitlements, key: str, request: dict) -> tuple[Outcome, list[tuple]]:
        organization_id, amount = entitlements.organization_id, request['amount']
        await BillingAccount.get_or_create(organization_id=organization_id)
        await BillingAccount.filter(organization_id=organization_id).update(token_balance=F('token_balance') + amount)
        entry = await TokenLedgerEntry.create(
            organization_id=organization_id, delta=amount, kind='grant', reference=_reference(entitlements, key),
            description=(f'Granted: {request["reason"]}' if request['reason'] else 'Granted')[:300],
        )  # fmt: skip
        await rearm_low_balance(organization_id)
        return Outcome(200, {'balance': await _balance(organization_id), 'entry': ledger_row(entry)}), []

    async def check_low_balance(self, organization_id: int) -> bool:
        """Inside the transaction of a decrease: True once when the balance falls below the admins' threshold."""
        crossed = await BillingAccount.filter(
            organization_id=organization_id, low_balance_alerted=False, low_balance_threshold__not_isnull=True,
            token_balance__lt=F('low_balance_threshold'),
        ).update(low_balance_alerted=True)  # fmt: skip
        if crossed:
            account = await BillingAccount.get(organization_id=organization_id)
            await self.product.enqueue(organization_id, 'tokens.low_balance', {
                'organization_id': organization_id, 'balance': account.token_balance,
                'threshold': account.low_balance_threshold,
            })  # fmt: skip
        return bool(crossed)

    async def ledger(self, *, organization_id: int, limit: int = 20, starting_after: int | None = None) -> tuple:
        """One page of the ledger, newest first: (entries, has_more)."""
        entries = TokenLedgerEntry.filter(organization_id=organization_id)
        if starting_after is not None:
            entries = entries.filter(id__lt=starting_after)
        rows = await entries.order_by('-id').limit(limit + 1)
        return rows[:limit], len(rows) > limit

    async def daily_use(self, *, session: Session | None, days: int = 30) -> list[tuple[str, int]]:
        """Tokens used per day (UTC) over the last `days` days, oldest first, every day present."""
        context = await self.contexts.of(session)
        today = now().date()
        start = today - timedelta(days=days - 1)
        used = {day: 0 for day in (start + timedelta(days=n) for n in range(days))}
        for entry in await TokenLedgerEntry.filter(
            organization_id=context.organization.id, kind='consumption', created_at__gte=now() - timedelta(days=days)
        ).only('created_at', 'delta'):
            if (day := entry.created_at.date()) in used:
                used[day] -= entry.delta
        return [(day.isoformat(), amount) for day, amount in used.items()]

    async def set_alert(self, *, session: Session | None, threshold: int | None) -> BillingAccount:
        """ "Alert me below N tokens" (None: no alert). A balance already below N alerts at its next decrease."""
        if threshold is not None and (not isinstance(threshold, int) or not 0 < threshold <= MAX_AMOUNT):
            raise ValidationFailed({'threshold': 'Enter a whole number of tokens, at least 1, or clear the field.'})
        async with self.contexts.exclusive(session, subscribed=False) as context:
            await BillingAccount.filter(id=context.account.id).update(low_balance_threshold=threshold,
                                                                      low_balance_alerted=False)  # fmt: skip
        self.contexts.publish(context.organization.id)
        return await BillingAccount.get(id=context.account.id)

    async def forget_old_keys(self) -> int:
        return await ApiIdempotency.filter(created_at__lt=now() - KEEP_KEYS).delete()


class _NotKept(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def _reference(entitlements, key: str) -> str:
    """The ledger entry's cause: the API request, by organization and idempotency key."""
    return f'api:{entitlements.organization_id}:{key}'


def ledger_row(entry: TokenLedgerEntry) -> dict:
    return {
        'id': entry.id, 'object': 'ledger_entry', 'organization': entry.organization_id, 'delta': entry.delta,
        'kind': entry.kind, 'description': entry.description, 'created': int(entry.created_at.timestamp()),
    }  # fmt: skip


async def _balance(organization_id: int) -> int:
    return (await BillingAccount.get(organization_id=organization_id)).token_balance

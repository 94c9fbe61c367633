"""Managing a live subscription: changes with their prorated price, seats, tokens, cards, invoices, cancellation.

Every change is previewed with Stripe's invoices.create_preview, then applied with the same proration date, so the
amount shown is the amount charged. Writes carry idempotency keys built from the organization, the action and the
billing revision, which moves on after each change (and after a refused payment, whose result Stripe would
otherwise replay), so a double click or a retry changes Stripe once.

The writes of one organization also run one at a time (`Billing.exclusive`): each reads the mirror, decides and
writes while no other change of that organization is under way, so two clicks never both act on the same old state.
"""

import contextlib
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db.models import BillingAccount, Organization, SubscriptionMirror, TokenLedgerEntry, User
from services import audit
from services.auth import Session, require_admin
from services.billing import LIVE_STATUSES, Billing, check_seats
from services.billing.gateway import PaymentFailed
from services.errors import PermissionDenied, ValidationFailed
from services.events import billing_changed
from services.plans import Plan, format_money
from services.validation import clean_name

MAX_TOKEN_PACKS = 100
PREVIEW_VALID_SECONDS = 900
INVOICE_PAGE = 20


@dataclass(frozen=True)
class ChangePreview:
    plan_name: str
    interval: str
    seats: int
    currency: str
    due_today: int
    credit: int  # what a downgrade leaves on the balance, taken off the next invoices
    next_amount: int
    next_date: datetime
    lines: list[str]
    warning: str | None


@dataclass(frozen=True)
class Card:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    name: str
    address: dict
    is_default: bool


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


@dataclass(frozen=True)
class _Context:
    admin: User
    organization: Organization
    account: BillingAccount
    subscription: SubscriptionMirror | None
    plan: Plan | None


class BillingManager:
    def __init__(self, billing: Billing) -> None:
        self.billing = billing
        self.gateway = billing.gateway
        # The proration date of the latest preview of each change, so "Confirm" charges what was shown.
        self._previews: dict[tuple, int] = {}

    # ----- changing the subscription ----------------------------------------------------------------------

    async def preview_change(
        self, *, session: Session | None, plan_id: str, interval: str, seats: int
    ) -> ChangePreview:
        return await self._preview(await self._subscribed(session), plan_id, interval, seats)

    async def _preview(self, context: _Context, plan_id: str, interval: str, seats: int) -> ChangePreview:
        plan, price = await self._validated_change(context, plan_id, interval, seats)
        proration_date = int(time.time())
        self._remember_preview((context.organization.id, plan_id, interval, seats), proration_date)
        details = {
            'items': [{'id': context.subscription.item_id, 'price': price, 'quantity': seats}],
            'proration_behavior': 'always_invoice',
            'proration_date': proration_date,
        }
        customer = context.account.stripe_customer_id
        subscription_id = context.subscription.stripe_subscription_id
        today = await self.gateway.call(
            'invoices', 'create_preview', customer=customer, subscription=subscription_id, subscription_details=details
        )
        upcoming = await self.gateway.call(
            'invoices',
            'create_preview',
            customer=customer,
            subscription=subscription_id,
            subscription_details=details,
            preview_mode='recurring',
        )
        return ChangePreview(
            plan_name=plan.name,
            interval=interval,
            seats=seats,
            currency=today['currency'],
            due_today=today['amount_due'],
            credit=max(0, -today['total']),
            next_amount=upcoming['amount_due'],
            next_date=_moment(upcoming.get('next_payment_attempt') or upcoming['period_end']),
            lines=[
                f'{line["description"]}: {format_money(line["amount"], today["currency"])}'
                for line in today['lines']['data']
            ],
            warning=self._token_warning(context, plan),
        )

    async def apply_change(
        self, *, session: Session | None, plan_id: str, interval: str, seats: int
    ) -> SubscriptionMirror:
        """Change plan, interval and seats now, invoicing the proration at once; a refused card changes nothing."""
        async with self._exclusive(session) as context:
            return await self._apply(context, plan_id, interval, seats)

    def _remember_preview(self, key: tuple, proration_date: int) -> None:
        stale = [old for old, moment in self._previews.items() if proration_date - moment > PREVIEW_VALID_SECONDS]
        for old in stale:
            del self._previews[old]
        self._previews[key] = proration_date

    async def _apply(self, context: _Context, plan_id: str, interval: str, seats: int) -> SubscriptionMirror:
        plan, price = await self._validated_change(context, plan_id, interval, seats)
        key = (context.organization.id, plan_id, interval, seats)
        proration_date = self._previews.get(key)
        if proration_date is None or time.time() - proration_date > PREVIEW_VALID_SECONDS:
            proration_date = int(time.time())
        before = _summary(context.subscription)
        try:
            updated = await self.gateway.call(
                'subscriptions',
                'update',
                context.subscription.stripe_subscription_id,
                # The proration date is in the key: a retry after a new preview is a new request, not a conflict.
                key=self._key(context, f'change-{plan_id}-{interval}-{seats}-at{proration_date}'),
                items=[{'id': context.subscription.item_id, 'price': price, 'quantity': seats}],
                proration_behavior='always_invoice',
                proration_date=proration_date,
                payment_behavior='error_if_incomplete',
                expand=['latest_invoice'],
            )
        except PaymentFailed as refusal:
            async with in_transaction():
                await self._next_revision(context)  # a new attempt, perhaps with another card, needs a fresh key
                await audit.record(
                    actor=context.admin,
                    action='billing.change_refused',
                    target_type='subscription',
                    before=before,
                    after={**_change_summary(plan, interval, seats), 'reason': str(refusal)},
                )
            raise
        invoice = updated.get('latest_invoice') or {}
        charged = format_money(invoice.get('amount_paid', 0), invoice.get('currency', plan.currency))
        mirror = await self._settle(
            context,
            updated,
            action='billing.subscription_changed',
            before=before,
            after={**_change_summary(plan, interval, seats), 'charged_today': charged},
        )
        self._previews.pop(key, None)
        return mirror

    async def preview_add_seats(
        self, *, session: Session | None, seats_to_add: int, from_seats: int | None = None
    ) -> ChangePreview:
        context = await self._subscribed(session)
        subscription = context.subscription
        seats = _seats_after(subscription, seats_to_add, from_seats)
        return await self._preview(context, subscription.plan_id, subscription.interval, seats)

    async def add_seats(
        self, *, session: Session | None, seats_to_add: int, from_seats: int | None = None
    ) -> SubscriptionMirror:
        """The same service as a change, with seats only.

        `from_seats` is the seat count the admin saw when asking (the dialog passes it): the request means "from
        `from_seats` to `from_seats + seats_to_add`", so a second click or a retry of the same request, once the
        first has landed, finds its target reached and changes nothing.
        """
        async with self._exclusive(session) as context:
            subscription = context.subscription
            target = _seats_after(subscription, seats_to_add, from_seats)
            if from_seats is not None and subscription.seats == target:
                return subscription  # this very request already went through
            return await self._apply(context, subscription.plan_id, subscription.interval, target)

    async def _validated_change(self, context: _Context, plan_id: str, interval: str, seats: int) -> tuple[Plan, str]:
        if context.subscription.cancel_at_period_end or context.subscription.cancel_at:
            raise PermissionDenied('Remove the scheduled cancellation before changing the subscription.')
        try:
            plan = self.billing.catalog.get(plan_id)
        except KeyError:
            raise ValidationFailed({'plan': 'Choose one of the plans.'}) from None
        if interval not in ('month', 'year'):
            raise ValidationFailed({'interval': 'Choose Monthly or Yearly.'})
        enabled = await User.filter(organization_id=context.organization.id, is_enabled=True).count()
        check_seats(plan, seats, enabled=enabled)
        subscription = context.subscription
        if (plan_id, interval, seats) == (subscription.plan_id, subscription.interval, subscription.seats):
            raise ValidationFailed({'seats': 'This is your current subscription: change the plan, interval or seats.'})
        return plan, await self.billing.price_id(plan.lookup_key(interval))

    def _token_warning(self, context: _Context, plan: Plan) -> str | None:
        if context.plan and context.plan.uses_tokens and not plan.uses_tokens and context.account.token_balance > 0:
            return (
                f'You have {context.account.token_balance:,} unused tokens. They stay on your balance, but they cannot '
                f'be spent on {plan.name}. They become usable again if you return to {context.plan.name}.'
            )
        return None

    # ----- cancellation -----------------------------------------------------------------------------------

    async def cancel(self, *, session: Session | None, reason: str = '') -> SubscriptionMirror:
        async with self._exclusive(session) as context:
            return await self._cancel(context, reason)

    async def _cancel(self, context: _Context, reason: str) -> SubscriptionMirror:
        reason = (reason or '').strip()[:500]
        params = {'cancel_at_period_end': True}
        if reason:
            params['cancellation_details'] = {'comment': reason}
        updated = await self.gateway.call(
            'subscriptions',
            'update',
            context.subscription.stripe_subscription_id,
            key=self._key(context, f'cancel-{hashlib.sha256(reason.encode()).hexdigest()[:12]}'),
            **params,
        )
        return await self._settle(
            context,
            updated,
            action='billing.cancellation_scheduled',
            before=_summary(context.subscription),
            after={'ends_on': _date(context.subscription.current_period_end), 'reason': reason},
        )

    async def remove_cancellation(self, *, session: Session | None) -> SubscriptionMirror:
        """Undo a scheduled end, whether it was set here (cancel_at_period_end) or elsewhere (cancel_at)."""
        async with self._exclusive(session) as context:
            return await self._remove_cancellation(context)

    async def _remove_cancellation(self, context: _Context) -> SubscriptionMirror:
        updated = await self.gateway.call(
            'subscriptions',
            'update',
            context.subscription.stripe_subscription_id,
            key=self._key(context, 'uncancel'),
            cancel_at_period_end=False,
            cancel_at='',
        )
        return await self._settle(
            context,
            updated,
            action='billing.cancellation_removed',
            before={**_summary(context.subscription), 'ends_on': _date(_scheduled_end(context.subscription))},
            after={'renews_on': _date(context.subscription.current_period_end)},
        )

    # ----- tokens -----------------------------------------------------------------------------------------

    async def start_token_checkout(self, *, session: Session | None, packs: int) -> str:
        context = await self._subscribed(session)
        plan = context.plan
        if plan is None or not plan.uses_tokens:
            raise PermissionDenied('Tokens can only be bought on a plan that uses them, such as Flexible.')
        if not isinstance(packs, int) or not 1 <= packs <= MAX_TOKEN_PACKS:
            raise ValidationFailed({'quantity': f'Choose from 1 to {MAX_TOKEN_PACKS} packs.'})
        price = await self.billing.price_id(plan.token_pack_lookup_key)
        tokens = packs * plan.token_pack.size
        metadata = {
            'organization_id': str(context.organization.id),
            'purpose': 'tokens',
            'packs': str(packs),
            'tokens': str(tokens),
        }
        checkout = await self.billing.open_checkout(
            context.account,
            f'tokens-{packs}',
            mode='payment',
            customer=context.account.stripe_customer_id,
            client_reference_id=str(context.organization.id),
            line_items=[{'price': price, 'quantity': packs}],
            invoice_creation={'enabled': True},
            metadata=metadata,
            success_url=f'{self.billing.settings.base_url}/admin?checkout_session={{CHECKOUT_SESSION_ID}}',
            cancel_url=f'{self.billing.settings.base_url}/admin',
        )
        await audit.record(
            actor=context.admin,
            action='billing.token_checkout_started',
            target_type='tokens',
            after={
                'packs': packs,
                'tokens': tokens,
                'total': format_money(plan.token_pack.price * packs, plan.currency),
            },
        )
        return checkout['url']

    async def token_history(self, *, session: Session | None, limit: int = 200) -> list[TokenLedgerEntry]:
        admin = await require_admin(session)
        return (
            await TokenLedgerEntry.filter(organization_id=admin.organization_id)
            .order_by('-created_at', '-id')
            .limit(limit)
        )

    # ----- payment methods --------------------------------------------------------------------------------

    async def payment_methods(self, *, session: Session | None) -> list[Card]:
        return await self._cards(await self._context(session))

    async def _cards(self, context: _Context) -> list[Card]:
        if not context.account.stripe_customer_id:
            return []
        customer = await self.gateway.call('customers', 'retrieve', context.account.stripe_customer_id)
        default = (customer.get('invoice_settings') or {}).get('default_payment_method')
        methods = await self.gateway.list_all('customers.payment_methods', context.account.stripe_customer_id)
        return [_card(method, default) for method in methods if method.get('type') == 'card']

    async def add_payment_method(self, *, session: Session | None) -> str:
        """A Checkout session in setup mode; the card it saves becomes the default if there was none."""
        context = await self._context(session)
        account = await self.billing.ensure_customer(context.organization)
        base = self.billing.settings.base_url
        currency = context.plan.currency if context.plan else self.billing.catalog.plans[0].currency
        checkout = await self.billing.open_checkout(
            account,
            'setup',
            mode='setup',
            currency=currency,
            customer=account.stripe_customer_id,
            client_reference_id=str(context.organization.id),
            metadata={'organization_id': str(context.organization.id), 'purpose': 'payment_method'},
            success_url=f'{base}/admin?checkout_session={{CHECKOUT_SESSION_ID}}',
            cancel_url=f'{base}/admin',
        )
        return checkout['url']

    async def update_payment_method(self, *, session: Session | None, card_id: str, values: dict) -> Card:
        context = await self._context(session)
        card = await self._own_card(context, card_id)
        errors: dict[str, str] = {}
        exp_month, exp_year = _whole(values.get('exp_month')), _whole(values.get('exp_year'))
        today = datetime.now(UTC)
        if exp_month is None or not 1 <= exp_month <= 12:
            errors['exp_month'] = 'Choose a month from 1 to 12.'
        if exp_year is None or not today.year <= exp_year <= today.year + 50:
            errors['exp_year'] = f'Choose a year from {today.year}.'
        elif exp_month is not None and (exp_year, exp_month) < (today.year, today.month):
            errors['exp_month'] = 'This date has passed: the card would be expired.'
        name = (values.get('name') or '').strip()
        if name:  # the cardholder's name is optional
            name = clean_name(name, errors, 'name', label='Cardholder name')
        address = {key: (value or '').strip() for key, value in (values.get('address') or {}).items()}
        if address.get('country') and len(address['country']) != 2:
            errors['country'] = 'Use the two-letter country code, e.g. NL.'
        if errors:
            raise ValidationFailed(errors)
        updated = await self.gateway.call(
            'payment_methods',
            'update',
            card.id,
            card={'exp_month': exp_month, 'exp_year': exp_year},
            billing_details={'name': name or '', 'address': {**address, 'country': address.get('country', '').upper()}},
        )
        await audit.record(
            actor=context.admin,
            action='billing.card_updated',
            target_type='payment_method',
            target_label=f'{card.brand} •••• {card.last4}',
            before={'expires': f'{card.exp_month}/{card.exp_year}', 'name': card.name},
            after={'expires': f'{exp_month}/{exp_year}', 'name': name},
        )
        self._publish(context)
        return _card(updated, card.id if card.is_default else None)

    async def make_default(self, *, session: Session | None, card_id: str) -> Card:
        async with self._exclusive(session, subscribed=False) as context:
            card = await self._own_card(context, card_id)
            return await self._make_default(context, card)

    async def _make_default(self, context: _Context, card: Card) -> Card:
        await self.gateway.call(
            'customers',
            'update',
            context.account.stripe_customer_id,
            invoice_settings={'default_payment_method': card.id},
        )
        updated = None
        if context.subscription and context.subscription.default_payment_method:
            updated = await self.gateway.call(
                'subscriptions', 'update', context.subscription.stripe_subscription_id, default_payment_method=card.id
            )
        async with in_transaction():
            if updated is not None:
                await self.billing._write_subscription(updated, organization_id=context.organization.id)
            await audit.record(
                actor=context.admin,
                action='billing.default_card_set',
                target_type='payment_method',
                target_label=f'{card.brand} •••• {card.last4}',
            )
        self._publish(context)
        return card

    async def remove_payment_method(self, *, session: Session | None, card_id: str) -> None:
        # One at a time: two removals at once could otherwise each see the other card and remove the last one.
        async with self._exclusive(session, subscribed=False) as context:
            await self._remove_payment_method(context, card_id)

    async def _remove_payment_method(self, context: _Context, card_id: str) -> None:
        cards = await self._cards(context)
        card = _find_card(cards, card_id)
        subscribed = context.subscription is not None and context.subscription.status in LIVE_STATUSES
        if subscribed and len(cards) == 1:
            raise PermissionDenied(
                'This is your only card, and your subscription renews with it. Add another card first, or cancel '
                'the subscription.'
            )
        await self.gateway.call('payment_methods', 'detach', card.id)
        others = [other for other in cards if other.id != card.id]
        if card.is_default and others:
            await self._make_default(context, others[0])
        await audit.record(
            actor=context.admin,
            action='billing.card_removed',
            target_type='payment_method',
            target_label=f'{card.brand} •••• {card.last4}',
        )
        self._publish(context)

    async def _own_card(self, context: _Context, card_id: str) -> Card:
        return _find_card(await self._cards(context), card_id)

    # ----- invoices ---------------------------------------------------------------------------------------

    async def invoices(self, *, session: Session | None, starting_after: str | None = None) -> InvoicePage:
        """One page of the organization's invoices, newest first, paged by Stripe itself."""
        context = await self._context(session)
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
                created=_moment(invoice['created']),
                total=invoice['total'],
                currency=invoice['currency'],
                status=invoice['status'],
                hosted_url=invoice.get('hosted_invoice_url') or '',
                pdf_url=invoice.get('invoice_pdf') or '',
            )
            for invoice in page['data']
        ]
        return InvoicePage(rows=rows, has_more=page['has_more'])

    # ----- shared -----------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _exclusive(self, session: Session | None, *, subscribed: bool = True) -> AsyncIterator[_Context]:
        """The caller's context, read and used while no other change of the organization runs.

        The lock is this process's: Portico runs as one process (NiceGUI refuses several workers).
        """
        admin = await require_admin(session)
        async with self.billing.exclusive(admin.organization_id):
            # Read again under the lock: the caller may have been disabled while waiting for it.
            yield await (self._subscribed(session) if subscribed else self._context(session))

    async def _context(self, session: Session | None) -> _Context:
        admin = await require_admin(session)
        organization = admin.organization
        account, _ = await BillingAccount.get_or_create(organization_id=organization.id)
        subscription = await SubscriptionMirror.get_or_none(organization_id=organization.id)
        plan = self.billing._plan(subscription.plan_id) if subscription else None
        return _Context(admin=admin, organization=organization, account=account, subscription=subscription, plan=plan)

    async def _subscribed(self, session: Session | None) -> _Context:
        context = await self._context(session)
        if context.subscription is None or context.subscription.status not in LIVE_STATUSES:
            raise PermissionDenied('Your organization has no active subscription. Choose one first.')
        return context

    def _key(self, context: _Context, action: str) -> str:
        return f'portico-org{context.organization.id}-{action}-r{context.account.revision}'

    async def _next_revision(self, context: _Context) -> None:
        await BillingAccount.filter(id=context.account.id).update(revision=F('revision') + 1)

    async def _settle(self, context: _Context, updated: dict, *, action: str, before: dict, after: dict):
        """Mirror what Stripe now says, move the revision on and audit, in one transaction; then tell open pages."""
        async with in_transaction():
            mirror = await self.billing._write_subscription(updated, organization_id=context.organization.id)
            await BillingAccount.filter(id=context.account.id).update(revision=F('revision') + 1)
            await audit.record(
                actor=context.admin,
                action=action,
                target_type='subscription',
                target_label=context.plan.name if context.plan else '',
                before=before,
                after=after,
            )
        self._publish(context)
        return mirror

    def _publish(self, context: _Context) -> None:
        self.billing.events.publish(billing_changed(context.organization.id))


def _find_card(cards: list[Card], card_id: str) -> Card:
    for card in cards:
        if card.id == card_id:
            return card
    raise PermissionDenied('This card is not one of your organization’s.')


def _card(method: dict, default_id: str | None) -> Card:
    card = method.get('card') or {}
    details = method.get('billing_details') or {}
    return Card(
        id=method['id'],
        brand=(card.get('brand') or 'card').capitalize(),
        last4=card.get('last4', ''),
        exp_month=card.get('exp_month', 0),
        exp_year=card.get('exp_year', 0),
        name=details.get('name') or '',
        address={key: value for key, value in (details.get('address') or {}).items() if value},
        is_default=method['id'] == default_id,
    )


def _scheduled_end(subscription: SubscriptionMirror) -> datetime | None:
    return subscription.cancel_at or (subscription.current_period_end if subscription.cancel_at_period_end else None)


def _summary(subscription: SubscriptionMirror) -> dict:
    return {
        'plan': subscription.plan_id,
        'interval': subscription.interval,
        'seats': subscription.seats,
        'cancel_at_period_end': subscription.cancel_at_period_end,
    }


def _change_summary(plan: Plan, interval: str, seats: int) -> dict:
    return {'plan': plan.id, 'interval': interval, 'seats': seats}


def _seats_after(subscription: SubscriptionMirror, seats_to_add, from_seats: int | None) -> int:
    base = subscription.seats if from_seats is None else from_seats
    target = base + _positive(seats_to_add)
    if subscription.seats not in (base, target):
        raise ValidationFailed(
            {'seats_to_add': f'Your subscription now has {subscription.seats} seats: close this form and try again.'}
        )
    return target


def _positive(value) -> int:
    number = _whole(value)
    if number is None or number < 1:
        raise ValidationFailed({'seats_to_add': 'Add at least 1 seat.'})
    return number


def _whole(value) -> int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number == int(number) else None


def _moment(timestamp: int | None) -> datetime:
    return datetime.fromtimestamp(timestamp or 0, UTC)


def _date(moment: datetime | None) -> str:
    return f'{moment:%B} {moment.day}, {moment.year}' if moment else '—'

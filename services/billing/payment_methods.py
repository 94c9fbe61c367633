"""The organization's cards: list, add (Checkout in setup mode), edit, make default, remove."""

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from services import audit
from services.auth import Session
from services.billing.checkout import Checkouts
from services.billing.context import BillingContext, Contexts
from services.billing.customers import Customers
from services.billing.gateway import StripeGateway
from services.billing.mirror import Mirror, is_live
from services.errors import PermissionDenied, ValidationFailed
from services.moments import whole
from services.settings import Settings
from services.validation import clean_name


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

    @property
    def label(self) -> str:
        return f'{self.brand} •••• {self.last4}'


ONLY_CARD = (
    'This is your only card, and your subscription renews with it. Add another card first, or cancel the subscription.'
)


@dataclass(frozen=True, kw_only=True)
class PaymentMethods:
    settings: Settings
    gateway: StripeGateway
    contexts: Contexts
    customers: Customers
    checkouts: Checkouts
    mirror: Mirror

    async def cards(self, *, session: Session | None) -> list[Card]:
        return await self._cards(await self.contexts.of(session))

    async def add(self, *, session: Session | None, as_default: bool = False) -> str:
        """A Checkout session in setup mode; the card it saves becomes the default if there was none, or always
        `as_default` (to pay what is owed with it)."""
        context = await self.contexts.of(session)
        account = await self.customers.ensure(context.organization)
        base = self.settings.base_url
        currency = context.plan.currency if context.plan else self.contexts.catalog.plans[0].currency
        checkout = await self.checkouts.open(
            account, 'setup-default' if as_default else 'setup', mode='setup', currency=currency,
            customer=account.stripe_customer_id,
            client_reference_id=str(context.organization.id),
            metadata={'organization_id': str(context.organization.id), 'purpose': 'payment_method',
                      **({'as_default': 'true'} if as_default else {})},
            success_url=f'{base}/admin?checkout_session={{CHECKOUT_SESSION_ID}}', cancel_url=f'{base}/admin',
        )  # fmt: skip
        return checkout['url']

    async def update(self, *, session: Session | None, card_id: str, values: dict) -> Card:
        context = await self.contexts.of(session)
        card = _find(await self._cards(context), card_id)
        exp_month, exp_year, name, address = _clean_card(values)
        updated = await self.gateway.call(
            'payment_methods', 'update', card.id, card={'exp_month': exp_month, 'exp_year': exp_year},
            billing_details={'name': name, 'address': address},
        )  # fmt: skip
        await audit.record(
            actor=context.admin, action='billing.card_updated', target_type='payment_method', target_label=card.label,
            before={'expires': f'{card.exp_month}/{card.exp_year}', 'name': card.name},
            after={'expires': f'{exp_month}/{exp_year}', 'name': name},
        )  # fmt: skip
        self.contexts.publish(context.organization.id)
        return _card(updated, card.id if card.is_default else None)

    async def make_default(self, *, session: Session | None, card_id: str) -> Card:
        async with self.contexts.exclusive(session, subscribed=False) as context:
            return await self._make_default(context, _find(await self._cards(context), card_id))

    async def remove(self, *, session: Session | None, card_id: str) -> Card:
        """Detach a card (another becomes the default if it was); returns the card removed."""
        # One at a time: two removals at once could otherwise each see the other card and remove the last one.
        async with self.contexts.exclusive(session, subscribed=False) as context:
            cards = await self._cards(context)
            card = _find(cards, card_id)
            if is_live(context.subscription) and len(cards) == 1:
                raise PermissionDenied(ONLY_CARD)
            await self.gateway.call('payment_methods', 'detach', card.id)
            others = [other for other in cards if other.id != card.id]
            if card.is_default and others:
                await self._make_default(context, others[0])
            await audit.record(actor=context.admin, action='billing.card_removed', target_type='payment_method',
                               target_label=card.label)  # fmt: skip
            self.contexts.publish(context.organization.id)
            return card

    async def _make_default(self, context: BillingContext, card: Card) -> Card:
        await self.gateway.call('customers', 'update', context.account.stripe_customer_id,
                                invoice_settings={'default_payment_method': card.id})  # fmt: skip
        updated = None
        if context.subscription and context.subscription.default_payment_method:
            updated = await self.gateway.call(
                'subscriptions', 'update', context.subscription.stripe_subscription_id, default_payment_method=card.id
            )
        async with in_transaction():
            if updated is not None:
                await self.mirror.write(updated, organization_id=context.organization.id)
            await audit.record(actor=context.admin, action='billing.default_card_set', target_type='payment_method',
                               target_label=card.label)  # fmt: skip
        self.contexts.publish(context.organization.id)
        return card

    async def _cards(self, context: BillingContext) -> list[Card]:
        return await saved_cards(self.gateway, context)


async def saved_cards(gateway: StripeGateway, context: BillingContext) -> list[Card]:
    """The organization's cards, the customer's default marked."""
    if not context.account.stripe_customer_id:
        return []
    customer = await gateway.call('customers', 'retrieve', context.account.stripe_customer_id)
    default = (customer.get('invoice_settings') or {}).get('default_payment_method')
    methods = await gateway.list_all('customers.payment_methods', context.account.stripe_customer_id)
    return [_card(method, default) for method in methods if method.get('type') == 'card']


async def charged_card(gateway: StripeGateway, context: BillingContext) -> Card | None:
    """The card the subscription's invoices are charged to, as Stripe picks it: the subscription's own default card
    when it has one, else the customer's; None without either."""
    cards = await saved_cards(gateway, context)
    own = context.subscription.default_payment_method if context.subscription else None
    return next((card for card in cards if card.id == own), None) or next((c for c in cards if c.is_default), None)


def _clean_card(values: dict) -> tuple[int, int, str, dict]:
    errors: dict[str, str] = {}
    exp_month, exp_year = whole(values.get('exp_month')), whole(values.get('exp_year'))
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
    return exp_month, exp_year, name, {**address, 'country': address.get('country', '').upper()}


def _find(cards: list[Card], card_id: str) -> Card:
    for card in cards:
        if card.id == card_id:
            return card
    raise PermissionDenied('This card is not one of your organization’s.')


def _card(method: dict, default_id: str | None) -> Card:
    card = method.get('card') or {}
    details = method.get('billing_details') or {}
    return Card(
        id=method['id'], brand=(card.get('brand') or 'card').capitalize(), last4=card.get('last4', ''),
        exp_month=card.get('exp_month', 0), exp_year=card.get('exp_year', 0), name=details.get('name') or '',
        address={key: value for key, value in (details.get('address') or {}).items() if value},
        is_default=method['id'] == default_id,
    )  # fmt: skip

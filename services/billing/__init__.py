"""Billing: the plan catalog in Stripe, the organization's customer, checkout, and the local mirror of Stripe.

Pages read only the mirror (SubscriptionMirror, BillingAccount); every change goes to Stripe first, and the mirror
is overwritten from what Stripe then returns, whether a webhook or the page that asked gets there first.

Whatever writes an organization's mirror (a change, a webhook, a fulfilment, a resync) holds that organization's
lock (`exclusive`) from its read of Stripe to its write, so an older read can never overwrite a newer one.
"""

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db.models import BillingAccount, CheckoutFulfillment, Organization, SubscriptionMirror, User
from services import audit
from services.auth import Session, now, require_admin
from services.billing import tokens
from services.billing.gateway import BillingUnavailable, StripeGateway
from services.errors import PermissionDenied, ValidationFailed
from services.events import EventBus, billing_changed
from services.locks import one_at_a_time
from services.plans import Catalog, Plan, format_money
from services.settings import Settings

log = logging.getLogger('portico.billing')

# Statuses in which the subscription's seats apply; anything else falls back to the trial allowance.
LIVE_STATUSES = {'active', 'trialing', 'past_due'}


@dataclass(frozen=True)
class BillingOverview:
    """Everything the Subscription section shows, read from the mirror only."""

    organization: Organization
    subscription: SubscriptionMirror | None
    plan: Plan | None
    token_balance: int
    seats_used: int
    seat_limit: int
    trial_days_left: int

    @property
    def subscribed(self) -> bool:
        return self.subscription is not None and self.subscription.status in LIVE_STATUSES


class Billing:
    def __init__(self, *, settings: Settings, catalog: Catalog, gateway: StripeGateway, events: EventBus) -> None:
        self.settings = settings
        self.catalog = catalog
        self.gateway = gateway
        self.events = events

    def exclusive(self, organization_id: int):
        """No other billing change of this organization runs meanwhile (in this process: Portico runs as one)."""
        return one_at_a_time('billing', organization_id)

    # ----- reading the mirror -------------------------------------------------------------------------------

    async def overview(self, *, session: Session | None) -> BillingOverview:
        admin = await require_admin(session)
        organization = admin.organization
        subscription = await SubscriptionMirror.get_or_none(organization_id=organization.id)
        account = await BillingAccount.get_or_none(organization_id=organization.id)
        plan = self._plan(subscription.plan_id) if subscription else None
        return BillingOverview(
            organization=organization,
            subscription=subscription,
            plan=plan,
            token_balance=account.token_balance if account else 0,
            seats_used=await User.filter(organization_id=organization.id, is_enabled=True).count(),
            seat_limit=seats_allowed(subscription, trial_seats=self.settings.trial_seats),
            trial_days_left=self.trial_days_left(organization),
        )

    def trial_days_left(self, organization: Organization) -> int:
        ends = organization.created_at + timedelta(days=self.settings.trial_days)
        return max(0, math.ceil((ends - now()).total_seconds() / 86400))

    def _plan(self, plan_id: str) -> Plan | None:
        try:
            return self.catalog.get(plan_id)
        except KeyError:
            return None

    # ----- the catalog in Stripe ----------------------------------------------------------------------------

    async def sync_catalog(self) -> list[str]:
        """Create or update every plan's Product and Prices, found by lookup_key; a second run changes nothing."""
        changes: list[str] = []
        for plan in self.catalog.plans:
            changes += await self._sync_product(plan)
            wanted = [(plan.lookup_key(interval), plan.price(interval), interval) for interval in ('month', 'year')]
            if plan.token_pack:
                wanted.append((plan.token_pack_lookup_key, plan.token_pack.price, None))
            for lookup_key, amount, interval in wanted:
                changes += await self._sync_price(plan, lookup_key, amount, interval)
        return changes

    async def _sync_product(self, plan: Plan) -> list[str]:
        fields = {'name': plan.name, 'description': plan.description, 'metadata': {'portico_plan': plan.id}}
        found = await self.gateway.call('products', 'list', ids=[plan.product_id], limit=1)
        if not found['data']:
            await self.gateway.call(
                'products', 'create', id=plan.product_id, key=f'portico-product-{plan.id}', **fields
            )
            return [f'created product {plan.product_id}']
        product = found['data'][0]
        if (product['name'], product.get('description'), product.get('active')) != (plan.name, plan.description, True):
            await self.gateway.call('products', 'update', plan.product_id, active=True, **fields)
            return [f'updated product {plan.product_id}']
        return []

    async def _sync_price(self, plan: Plan, lookup_key: str, amount: int, interval: str | None) -> list[str]:
        found = await self.gateway.call('prices', 'list', lookup_keys=[lookup_key], limit=1)
        current = found['data'][0] if found['data'] else None
        recurring = (current or {}).get('recurring') or {}
        if (
            current
            and current['active']
            and current['unit_amount'] == amount
            and current['currency'] == plan.currency
            and recurring.get('interval') == interval
        ):
            return []
        params = {
            'product': plan.product_id,
            'currency': plan.currency,
            'unit_amount': amount,
            'lookup_key': lookup_key,
            'transfer_lookup_key': True,
            'metadata': {'portico_plan': plan.id},
        }
        if interval:
            params['recurring'] = {'interval': interval}
        # The key names the amount and the price it replaces: a retry reuses the new price, and changing an
        # amount back later makes a fresh price instead of replaying the archived one.
        replaced = current['id'] if current else 'none'
        key = f'portico-price-{lookup_key}-{plan.currency}-{amount}-after-{replaced}'
        created = await self.gateway.call('prices', 'create', key=key, **params)
        if current and current['id'] != created['id']:
            await self.gateway.call('prices', 'update', current['id'], active=False)
        return [f'{"replaced" if current else "created"} price {lookup_key} ({format_money(amount, plan.currency)})']

    async def price_id(self, lookup_key: str) -> str:
        """The active price of a lookup key, asked of Stripe each time: stripe-sync may have replaced it."""
        found = await self.gateway.call('prices', 'list', lookup_keys=[lookup_key], active=True, limit=1)
        if not found['data']:
            raise ValidationFailed(
                {'plan': f'The price {lookup_key} is not in Stripe yet. Run `python main.py stripe-sync`.'}
            )
        return found['data'][0]['id']

    # ----- the customer -------------------------------------------------------------------------------------

    async def ensure_customer(self, organization: Organization) -> BillingAccount:
        """The organization's billing account with its Stripe customer, created once (idempotent on its key)."""
        account, _ = await BillingAccount.get_or_create(organization_id=organization.id)
        if account.stripe_customer_id:
            return account
        customer = await self.gateway.call(
            'customers', 'create', key=f'portico-org{organization.id}-customer', **_customer_fields(organization)
        )
        await BillingAccount.filter(id=account.id, stripe_customer_id=None).update(stripe_customer_id=customer['id'])
        return await BillingAccount.get(id=account.id)

    async def update_customer(self, organization: Organization) -> None:
        """Keep the Stripe customer's name, email, address and tax ID as the organization's details."""
        account = await BillingAccount.get_or_none(organization_id=organization.id)
        if account and account.stripe_customer_id:
            await self.gateway.call('customers', 'update', account.stripe_customer_id, **_customer_fields(organization))

    async def customer_changed(self, customer_id: str) -> None:
        """A webhook about the customer or its cards: open pages of that organization refresh what they show."""
        account = await BillingAccount.get_or_none(stripe_customer_id=customer_id)
        if account is not None:
            self.events.publish(billing_changed(account.organization_id))

    # ----- first-time purchase ------------------------------------------------------------------------------

    async def start_checkout(self, *, session: Session | None, plan_id: str, interval: str, seats: int) -> str:
        """A Stripe Checkout session (mode subscription) for a trial organization; returns its URL."""
        admin = await require_admin(session)
        organization = admin.organization
        plan = self._plan(plan_id)
        if plan is None or interval not in ('month', 'year'):
            raise ValidationFailed({'plan': 'Choose one of the plans.'})
        existing = await SubscriptionMirror.get_or_none(organization_id=organization.id)
        if existing and existing.status in LIVE_STATUSES:
            raise PermissionDenied('Your organization already has a subscription. Edit it from the portal instead.')
        enabled = await User.filter(organization_id=organization.id, is_enabled=True).count()
        check_seats(plan, seats, enabled=enabled)
        price = await self.price_id(plan.lookup_key(interval))
        metadata = {'organization_id': str(organization.id), 'plan_id': plan.id}
        base = self.settings.base_url
        async with self.exclusive(organization.id):
            account = await self.ensure_customer(organization)
            # Only the newest checkout can be paid: two tabs must not buy two subscriptions.
            await self._expire_open_checkouts(account.stripe_customer_id, mode='subscription')
            checkout = await self.open_checkout(
                account,
                f'checkout-subscription-{plan.id}-{interval}-{seats}',
                mode='subscription',
                customer=account.stripe_customer_id,
                client_reference_id=str(organization.id),
                line_items=[{'price': price, 'quantity': seats}],
                success_url=f'{base}/admin/subscriptions/complete?session_id={{CHECKOUT_SESSION_ID}}',
                cancel_url=f'{base}/admin/subscriptions?canceled=1',
                metadata=metadata,
                subscription_data={'metadata': metadata},
            )
        await audit.record(
            actor=admin,
            action='billing.checkout_started',
            target_type='subscription',
            target_label=plan.name,
            after={
                'plan': plan.name,
                'interval': interval,
                'seats': seats,
                'total': format_money(plan.price(interval) * seats, plan.currency),
            },
        )
        return checkout['url']

    async def open_checkout(self, account: BillingAccount, action: str, **params) -> dict:
        """A Checkout session that can still be paid, created once per request (its key names the revision).

        A double click gets the same session back. If that session is no longer open (paid, or expired), the
        request is a new one: the revision moves on and a fresh session is made.
        """
        for _ in range(2):
            key = f'portico-org{account.organization_id}-{action}-r{account.revision}'
            checkout = await self.gateway.call('checkout.sessions', 'create', key=key, **params)
            if checkout['status'] == 'open':
                return checkout
            await BillingAccount.filter(id=account.id).update(revision=_next_revision())
            account = await BillingAccount.get(id=account.id)
        raise BillingUnavailable('Stripe returned a checkout that cannot be paid. Please try again.')

    async def _expire_open_checkouts(self, customer_id: str, *, mode: str) -> None:
        for checkout in await self.gateway.list_all('checkout.sessions', customer=customer_id, status='open'):
            if checkout['mode'] == mode:
                await self.gateway.call('checkout.sessions', 'expire', checkout['id'])

    async def fulfill_checkout(self, session_id: str, *, organization_id: int | None = None) -> str:
        """Act on a completed Checkout session, once, from the webhook or the return page, whichever comes first.

        Returns the session's status ('complete', 'open' or 'expired'). With `organization_id`, a session of
        another organization is ignored (the return page passes the caller's).
        """
        checkout = await self.gateway.call('checkout.sessions', 'retrieve', session_id, expand=['line_items'])
        owner = await self._owner_of(checkout)
        if organization_id is not None and owner != organization_id:
            raise PermissionDenied('This checkout belongs to another organization.')
        if owner is None:
            log.warning('checkout %s belongs to no organization of this Portico: ignored', session_id)
            return checkout['status']
        if checkout['status'] != 'complete':
            return checkout['status']
        async with self.exclusive(owner):
            await self._fulfill(checkout, owner)
            # Tokens are credited when Stripe says the money is there: at once for a card, later for a bank debit
            # (checkout.session.async_payment_succeeded). Each step happens once, whoever asks first.
            await tokens.note_pending_payment(organization_id=owner, checkout=checkout)
            await tokens.credit_paid_checkout(organization_id=owner, checkout=checkout)
        self.events.publish(billing_changed(owner))
        return 'complete'

    async def checkout_payment_failed(self, session_id: str) -> None:
        """A completed checkout's delayed payment (a bank debit) failed: nothing is credited, and the ledger says so."""
        checkout = await self.gateway.call('checkout.sessions', 'retrieve', session_id)
        if checkout['status'] != 'complete' or checkout['payment_status'] == 'paid':
            return  # not failed after all (events may come late): the paid path credits it
        if (owner := await self._owner_of(checkout)) is None:
            return
        await self.fulfill_checkout(session_id)
        async with self.exclusive(owner):
            await tokens.note_failed_payment(organization_id=owner, checkout=checkout)
        self.events.publish(billing_changed(owner))

    async def charge_reversed(self, charge_id: str) -> None:
        """A refund or a dispute on a charge: a token purchase gives back its share of the tokens, once."""
        charge = await self.gateway.call('charges', 'retrieve', charge_id)
        if not charge.get('payment_intent'):
            return
        sessions = await self.gateway.call('checkout.sessions', 'list', payment_intent=charge['payment_intent'])
        checkout = next(iter(sessions['data']), None)
        if checkout is None or not tokens.purchased_tokens(checkout):
            return  # a subscription invoice, say: its refund changes no tokens
        if (owner := await self._owner_of(checkout)) is None:
            return
        refunds = await self.gateway.list_all('refunds', charge=charge_id)
        disputes = await self.gateway.list_all('disputes', charge=charge_id)
        async with self.exclusive(owner):
            taken = await tokens.take_back(
                organization_id=owner, checkout=checkout, charge=charge, refunds=refunds, disputes=disputes
            )
        if taken:
            self.events.publish(billing_changed(owner))

    async def _owner_of(self, checkout: dict) -> int | None:
        reference = checkout.get('client_reference_id') or (checkout.get('metadata') or {}).get('organization_id')
        if reference and str(reference).isdigit() and await Organization.exists(id=int(reference)):
            return int(reference)
        return None

    async def _fulfill(self, checkout: dict, owner: int) -> None:
        session_id = checkout['id']
        subscription = None
        if checkout['mode'] == 'subscription' and checkout.get('subscription'):
            subscription = await self.gateway.call('subscriptions', 'retrieve', checkout['subscription'])
        if checkout['mode'] in ('subscription', 'setup'):
            await self._default_card_if_none(checkout, subscription)
        try:
            # One transaction: the mirror, the once-only guard and the effects land together or not at all.
            async with in_transaction():
                if subscription is not None:
                    await self._write_subscription(subscription, organization_id=owner)
                if not await CheckoutFulfillment.exists(session_id=session_id):
                    await CheckoutFulfillment.create(
                        session_id=session_id, organization_id=owner, mode=checkout['mode']
                    )
                    await self._fulfill_effects(checkout, owner)
        except IntegrityError:
            # Another process fulfilled it at the same moment.
            if not await CheckoutFulfillment.exists(session_id=session_id):
                raise

    async def _fulfill_effects(self, checkout: dict, organization_id: int) -> None:
        """What a completed session does beyond the mirror, inside the fulfilment's transaction."""
        # The next request of the same kind is a new one: it gets a new idempotency key (see `open_checkout`).
        await BillingAccount.filter(organization_id=organization_id).update(revision=_next_revision())
        await audit.record_system(
            organization_id=organization_id,
            action=f'billing.checkout_completed.{checkout["mode"]}',
            target_type='checkout',
            target_label=checkout['id'],
            after=_checkout_summary(checkout),
        )

    async def _default_card_if_none(self, checkout: dict, subscription: dict | None) -> None:
        """The card a checkout saved becomes the customer's default when there was none.

        Stripe itself sets it only on the subscription (subscription mode) or nowhere (setup mode); Portico shows
        the customer's default, and renews and charges with it.
        """
        card = (subscription or {}).get('default_payment_method')
        if checkout['mode'] == 'setup' and checkout.get('setup_intent'):
            intent_id = checkout['setup_intent']
            intent = await self.gateway.call(
                'setup_intents', 'retrieve', intent_id if isinstance(intent_id, str) else intent_id['id']
            )
            card = intent.get('payment_method')
        if not card or not checkout.get('customer'):
            return
        customer = await self.gateway.call('customers', 'retrieve', checkout['customer'])
        if not (customer.get('invoice_settings') or {}).get('default_payment_method'):
            await self.gateway.call(
                'customers', 'update', checkout['customer'], invoice_settings={'default_payment_method': card}
            )

    # ----- the mirror ---------------------------------------------------------------------------------------

    async def sync_subscription(self, subscription: dict) -> SubscriptionMirror | None:
        """Overwrite the mirror with the subscription as Stripe has it now (`subscription` is only a hint of which)."""
        organization_id = await self._organization_of(subscription)
        if organization_id is None:
            log.warning('subscription %s belongs to no organization of this Portico', subscription['id'])
            return None
        async with self.exclusive(organization_id):
            current = await self.gateway.call('subscriptions', 'retrieve', subscription['id'])
            mirror = await self._write_subscription(current, organization_id=organization_id)
        if mirror is not None:
            self.events.publish(billing_changed(mirror.organization_id))
        return mirror

    async def _write_subscription(
        self, subscription: dict, *, organization_id: int | None = None
    ) -> SubscriptionMirror | None:
        """Overwrite the organization's mirror with Stripe's subscription, as Stripe has it now."""
        organization_id = organization_id or await self._organization_of(subscription)
        if organization_id is None:
            log.warning('subscription %s belongs to no organization of this Portico', subscription['id'])
            return None
        values = self._mirror_values(subscription)
        async with in_transaction():
            mirror = await SubscriptionMirror.select_for_update().get_or_none(organization_id=organization_id)
            if mirror is None:
                return await SubscriptionMirror.create(organization_id=organization_id, **values)
            replacing = mirror.stripe_subscription_id != subscription['id']
            if replacing and values['status'] not in LIVE_STATUSES and mirror.status in LIVE_STATUSES:
                return mirror  # an old, ended subscription must not hide the live one
            for field, value in values.items():
                setattr(mirror, field, value)
            await mirror.save()
            return mirror

    async def _organization_of(self, subscription: dict) -> int | None:
        metadata_id = (subscription.get('metadata') or {}).get('organization_id')
        if metadata_id and await Organization.exists(id=int(metadata_id)):
            return int(metadata_id)
        account = await BillingAccount.get_or_none(stripe_customer_id=subscription['customer'])
        return account.organization_id if account else None

    def _mirror_values(self, subscription: dict) -> dict:
        item = subscription['items']['data'][0]
        price = item['price']
        known = self.catalog.by_lookup_key(price.get('lookup_key'))
        if known:
            plan_id, interval = known[0].id, known[1]
        else:  # a price made outside Portico: keep what Stripe says
            plan_id, interval = price.get('product', ''), (price.get('recurring') or {}).get('interval') or 'month'
        return {
            'stripe_subscription_id': subscription['id'],
            'plan_id': plan_id,
            'interval': interval,
            'status': subscription['status'],
            'seats': item.get('quantity') or 1,
            'price_id': price['id'],
            'item_id': item['id'],
            'current_period_end': _moment(item.get('current_period_end')),
            'cancel_at_period_end': bool(subscription.get('cancel_at_period_end')),
            'cancel_at': _moment(subscription.get('cancel_at')),
            'trial_end': _moment(subscription.get('trial_end')),
            'default_payment_method': subscription.get('default_payment_method'),
        }

    async def resync(self, *, session: Session | None) -> list[str]:
        """Rebuild the organization's mirror from Stripe and say what differed."""
        admin = await require_admin(session)
        differences = await self.resync_organization(admin.organization_id)
        await audit.record(
            actor=admin,
            action='billing.resynced',
            target_type='subscription',
            after={'differences': differences or ['none']},
        )
        return differences

    async def resync_organization(self, organization_id: int) -> list[str]:
        account = await BillingAccount.get_or_none(organization_id=organization_id)
        if account is None or not account.stripe_customer_id:
            return []
        async with self.exclusive(organization_id):
            before = await SubscriptionMirror.get_or_none(organization_id=organization_id)
            before_values = _comparable(before)
            subscriptions = await self.gateway.list_all(
                'subscriptions', customer=account.stripe_customer_id, status='all'
            )
            for subscription in sorted(subscriptions, key=lambda s: s['created']):
                await self._write_subscription(subscription, organization_id=organization_id)
            after = await SubscriptionMirror.get_or_none(organization_id=organization_id)
        after_values = _comparable(after)
        differences = [
            f'{field}: {before_values.get(field)} → {value}'
            for field, value in after_values.items()
            if before_values.get(field) != value
        ]
        if differences:
            self.events.publish(billing_changed(organization_id))
        return differences

    async def resync_all(self) -> None:
        """At start-up, in the background: catch up with anything that happened while Portico was down."""
        for account in await BillingAccount.exclude(stripe_customer_id=None):
            try:
                if differences := await self.resync_organization(account.organization_id):
                    log.info('resync of organization %s: %s', account.organization_id, '; '.join(differences))
            except Exception:
                log.exception('resync of organization %s failed', account.organization_id)


async def seat_limit(organization_id: int, *, trial_seats: int) -> int:
    """How many users may be enabled at once: the subscription's quantity, or the trial allowance without one."""
    subscription = await SubscriptionMirror.get_or_none(organization_id=organization_id)
    return seats_allowed(subscription, trial_seats=trial_seats)


def seats_allowed(subscription: SubscriptionMirror | None, *, trial_seats: int) -> int:
    """The seat rule itself, for callers that already hold the mirror."""
    if subscription and subscription.status in LIVE_STATUSES:
        return subscription.seats
    return trial_seats


def check_seats(plan: Plan, seats: int, *, enabled: int) -> None:
    floor = max(plan.min_seats, enabled)
    if not isinstance(seats, int) or seats < floor:
        reason = f'{enabled} users are enabled' if enabled >= plan.min_seats else f'{plan.name} starts at {floor} seats'
        raise ValidationFailed({'seats': f'Choose at least {floor} seats: {reason}.'})
    if seats > plan.max_seats:
        raise ValidationFailed({'seats': f'{plan.name} allows at most {plan.max_seats} seats.'})


def _customer_fields(organization: Organization) -> dict:
    address = {
        'line1': organization.address_line1,
        'line2': organization.address_line2,
        'postal_code': organization.postal_code,
        'city': organization.city,
        'country': organization.country,
    }
    return {
        'name': organization.name,
        'email': organization.billing_email or None,
        'address': address if any(address.values()) else None,
        'metadata': {'organization_id': str(organization.id), 'tax_id': organization.tax_id},
    }


def _checkout_summary(checkout: dict) -> dict:
    summary = {'total': format_money(checkout.get('amount_total') or 0, checkout.get('currency') or 'usd')}
    metadata = checkout.get('metadata') or {}
    if metadata.get('tokens'):
        summary['tokens'] = int(metadata['tokens'])
    if metadata.get('plan_id'):
        summary['plan'] = metadata['plan_id']
    return summary


def _comparable(mirror: SubscriptionMirror | None) -> dict:
    if mirror is None:
        return {}
    fields = (
        'stripe_subscription_id',
        'plan_id',
        'interval',
        'status',
        'seats',
        'current_period_end',
        'cancel_at_period_end',
        'cancel_at',
    )
    return {field: getattr(mirror, field) for field in fields}


def _moment(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def _next_revision() -> F:
    return F('revision') + 1

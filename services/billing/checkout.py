"""Stripe Checkout: the first subscription of a trial organization, and acting once on any completed session.

Token packs and new cards open their sessions through `Checkouts.open` too (services.billing.tokens and
payment_methods). Fulfilment runs from the webhook and from the page Checkout returns to, whichever comes first.
"""

import logging
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db.models import BillingAccount, CheckoutFulfillment, SubscriptionMirror
from services import audit
from services.auth import Session
from services.billing import tokens
from services.billing.catalog import CatalogSync
from services.billing.context import Contexts, checkout_owner
from services.billing.customers import Customers
from services.billing.gateway import BillingUnavailable, StripeGateway
from services.billing.mirror import Mirror, is_live, seats_in_use
from services.errors import PermissionDenied, ValidationFailed
from services.plans import Interval, check_seats, format_money
from services.settings import Settings

log = logging.getLogger('portico.billing')


@dataclass(frozen=True, kw_only=True)
class Checkouts:
    settings: Settings
    gateway: StripeGateway
    contexts: Contexts
    customers: Customers
    prices: CatalogSync
    mirror: Mirror

    async def start_subscription(self, *, session: Session | None, plan_id: str, interval: str, seats: int) -> str:
        """A Stripe Checkout session (mode subscription) for a trial organization; returns its URL."""
        context = await self.contexts.of(session)
        organization, plan = context.organization, self.contexts.plan(plan_id)
        if plan is None or Interval.of(interval) not in plan.prices:
            raise ValidationFailed({'plan': 'Choose one of the plans.'})
        if is_live(context.subscription):
            raise PermissionDenied('Your organization already has a subscription. Edit it from the portal instead.')
        check_seats(plan, seats, enabled=await seats_in_use(organization.id))
        price = await self.prices.price_id(plan.lookup_key(interval))
        metadata = {'organization_id': str(organization.id), 'plan_id': plan.id}
        base = self.settings.base_url
        async with self.contexts.exclusive_for(organization.id):
            account = await self.customers.ensure(organization)
            # Only the newest checkout can be paid: two tabs must not buy two subscriptions.
            await self._expire_open(account.stripe_customer_id, mode='subscription')
            checkout = await self.open(
                account, f'checkout-subscription-{plan.id}-{interval}-{seats}', mode='subscription',
                customer=account.stripe_customer_id, client_reference_id=str(organization.id),
                line_items=[{'price': price, 'quantity': seats}],
                success_url=f'{base}/admin/subscriptions/complete?session_id={{CHECKOUT_SESSION_ID}}',
                cancel_url=f'{base}/admin/subscriptions?canceled=1', metadata=metadata,
                subscription_data={'metadata': metadata},
            )  # fmt: skip
        await audit.record(
            actor=context.admin, action='billing.checkout_started', target_type='subscription', target_label=plan.name,
            after={'plan': plan.name, 'interval': interval, 'seats': seats,
                   'total': format_money(plan.price(interval) * seats, plan.currency)},
        )  # fmt: skip
        return checkout['url']

    async def open(self, account: BillingAccount, action: str, **params) -> dict:
        """A Checkout session that can still be paid, created once per request (its key names the revision).

        A double click gets the same session back. If that session is no longer open (paid, or expired), the
        request is a new one: the revision moves on and a fresh session is made.
        """
        for _ in range(2):
            key = f'portico-org{account.organization_id}-{action}-r{account.revision}'
            checkout = await self.gateway.call('checkout.sessions', 'create', key=key, **params)
            if checkout['status'] == 'open':
                return checkout
            await self.contexts.next_revision(account)
            account = await BillingAccount.get(id=account.id)
        raise BillingUnavailable('Stripe returned a checkout that cannot be paid. Please try again.')

    async def _expire_open(self, customer_id: str, *, mode: str) -> None:
        for checkout in await self.gateway.list_all('checkout.sessions', customer=customer_id, status='open'):
            if checkout['mode'] == mode:
                await self.gateway.call('checkout.sessions', 'expire', checkout['id'])

    async def fulfill(self, session_id: str, *, organization_id: int | None = None) -> str:
        """Act on a completed Checkout session, once, from the webhook or the return page, whichever comes first.

        Returns the session's status ('complete', 'open' or 'expired'). With `organization_id`, a session of
        another organization is refused (the return page passes the caller's).
        """
        return (await self._fulfilled(session_id, organization_id=organization_id))['status']

    async def fulfill_for_caller(self, *, session: Session | None, checkout_session_id: str) -> str:
        """The page Checkout returns to: fulfil the session if it is the caller's organization's."""
        context = await self.contexts.of(session)
        return await self.fulfill(checkout_session_id, organization_id=context.organization.id)

    async def completion_message(self, *, session: Session | None, checkout_session_id: str) -> str | None:
        """Back from Checkout: fulfil the caller's session (once, as `fulfill_for_caller`), and say what it did in
        the toast's words, from the session as that read it; None while it is not complete."""
        context = await self.contexts.of(session)
        checkout = await self._fulfilled(checkout_session_id, organization_id=context.organization.id)
        if checkout['status'] != 'complete':
            return None
        if checkout['mode'] == 'setup':
            return 'Card saved.'
        if checkout['mode'] == 'subscription':
            return 'Subscription started.'
        bought = tokens.purchased_tokens(checkout)
        if checkout.get('payment_status') != 'paid':
            return f'Payment processing: {bought:,} tokens are added once the bank confirms it.'
        return f'{bought:,} tokens added.' if bought else 'Payment complete.'

    async def _fulfilled(self, session_id: str, *, organization_id: int | None) -> dict:
        """`fulfill`, returning the session as it read it."""
        checkout = await self.gateway.call('checkout.sessions', 'retrieve', session_id, expand=['line_items'])
        owner = await checkout_owner(checkout)
        if organization_id is not None and owner != organization_id:
            raise PermissionDenied('This checkout belongs to another organization.')
        if owner is None:
            log.warning('checkout %s belongs to no organization of this Portico: ignored', session_id)
            return checkout
        if checkout['status'] != 'complete':
            return checkout
        async with self.contexts.exclusive_for(owner):
            await self._fulfill(checkout, owner)
            # Tokens are credited when Stripe says the money is there: at once for a card, later for a bank debit
            # (checkout.session.async_payment_succeeded). Each step happens once, whoever asks first.
            await tokens.note_pending_payment(organization_id=owner, checkout=checkout)
            await tokens.credit_tokens_once(organization_id=owner, checkout=checkout)
        self.contexts.publish(owner)
        return checkout

    async def payment_failed(self, session_id: str) -> None:
        """A completed checkout's delayed payment (a bank debit) failed: nothing is credited, and the ledger says so."""
        checkout = await self.gateway.call('checkout.sessions', 'retrieve', session_id)
        if checkout['status'] != 'complete' or checkout['payment_status'] == 'paid':
            return  # not failed after all (events may come late): the paid path credits it
        if (owner := await checkout_owner(checkout)) is None:
            return
        await self.fulfill(session_id)
        async with self.contexts.exclusive_for(owner):
            await tokens.note_failed_payment(organization_id=owner, checkout=checkout)
        self.contexts.publish(owner)

    async def _fulfill(self, checkout: dict, owner: int) -> None:
        session_id = checkout['id']
        subscription = None
        if checkout['mode'] == 'subscription' and checkout.get('subscription'):
            subscription = await self.gateway.call('subscriptions', 'retrieve', checkout['subscription'])
        if checkout['mode'] in ('subscription', 'setup'):
            subscription = await self._default_card_if_none(checkout, subscription) or subscription
        try:
            # One transaction: the mirror, the once-only guard and the effects land together or not at all.
            async with in_transaction():
                if subscription is not None:
                    await self.mirror.write(subscription, organization_id=owner)
                if not await CheckoutFulfillment.exists(session_id=session_id):
                    await CheckoutFulfillment.create(session_id=session_id, organization_id=owner,
                                                     mode=checkout['mode'])  # fmt: skip
                    # The next request of the same kind is a new one: it gets a new idempotency key (see `open`).
                    await BillingAccount.filter(organization_id=owner).update(revision=F('revision') + 1)
                    await audit.record_system(
                        organization_id=owner, action=f'billing.checkout_completed.{checkout["mode"]}',
                        target_type='checkout', target_label=checkout['id'], after=await self._summary(checkout, owner),
                    )  # fmt: skip
        except IntegrityError:
            if not await CheckoutFulfillment.exists(session_id=session_id):  # else: another process, just now
                raise

    async def _summary(self, checkout: dict, owner: int) -> dict:
        """What the audit log says of a completed checkout: what it cost and bought, and who bought tokens."""
        summary = {'total': format_money(checkout.get('amount_total') or 0, checkout.get('currency') or 'usd')}
        metadata = checkout.get('metadata') or {}
        if metadata.get('tokens'):
            summary['tokens'] = int(metadata['tokens'])
            summary['paid'] = checkout.get('payment_status') == 'paid'
            if buyer := await audit.actor_of(organization_id=owner, action='billing.token_checkout_started',
                                             target_label=checkout['id']):  # fmt: skip
                summary['buyer'] = buyer
        if metadata.get('plan_id'):
            summary['plan'] = metadata['plan_id']
            if plan := self.contexts.plan(metadata['plan_id']):
                summary['plan_name'] = plan.name
        return summary

    async def _default_card_if_none(self, checkout: dict, subscription: dict | None) -> dict | None:
        """The card a checkout saved becomes the customer's default when there was none, or always when it was
        added to pay what is owed ("Update payment method"): then the subscription charges it too, retries included.
        Returns the subscription when that changed it.

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
            return None
        as_default = (checkout.get('metadata') or {}).get('as_default') == 'true'
        customer = await self.gateway.call('customers', 'retrieve', checkout['customer'])
        if as_default or not (customer.get('invoice_settings') or {}).get('default_payment_method'):
            await self.gateway.call(
                'customers', 'update', checkout['customer'], invoice_settings={'default_payment_method': card}
            )
        if as_default and subscription is None and (owner := await checkout_owner(checkout)) is not None:
            mirror = await SubscriptionMirror.get_or_none(organization_id=owner)
            if mirror is not None and mirror.default_payment_method and mirror.default_payment_method != card:
                return await self.gateway.call('subscriptions', 'update', mirror.stripe_subscription_id,
                                               default_payment_method=card)  # fmt: skip
        return None

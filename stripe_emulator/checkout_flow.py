"""Completing a Checkout Session: what the hosted page does once the card (or IBAN) details look valid.

Everything happens in the caller's transaction, and the card is checked before anything is created, so a
declined card leaves no trace (no payment method, subscription or invoice). A SEPA Direct Debit completes the
session at once with `payment_status: 'unpaid'`; the payment settles later (`payment_settled`).
"""

from dataclasses import dataclass

from . import invoice_payments, invoicing, lifecycle, sepa
from .cards import Card, attach_outcome, charge_outcome
from .context import Context
from .ids import new_id
from .intents import new_payment_intent, new_setup_intent
from .resources import checkout, customers, payment_methods


@dataclass(frozen=True)
class CardEntry:
    card: Card
    exp_month: int
    exp_year: int
    name: str
    # The cardholder completed 3-D Secure on the hosted page just now.
    authenticated: bool = False


@dataclass(frozen=True)
class SepaEntry:
    account: sepa.BankAccount
    name: str
    # Who accepted the mandate, as the browser told us.
    ip_address: str | None = None
    user_agent: str | None = None


def complete(ctx: Context, session: dict, entry: CardEntry | SepaEntry, quantities: dict[str, int]) -> dict:
    """Pay (or save the card for) an open session; raises a card error when the card is declined."""
    for item in session['_line_items']:
        if item['id'] in quantities and (item['adjustable_quantity'] or {}).get('enabled'):
            item['quantity'] = quantities[item['id']]
    checkout.set_amounts(session)
    if isinstance(entry, SepaEntry):
        email = session['customer_email'] or (ctx.store.get(session['customer'] or '', 'customer') or {}).get('email')
        pm = payment_methods.build_sepa(ctx, entry.account, name=entry.name, email=email)
    else:
        pm = payment_methods.build(ctx, entry.card, exp_month=entry.exp_month, exp_year=entry.exp_year, name=entry.name)
        outcome = attach_outcome(pm) if session['mode'] == 'setup' else charge_outcome(pm)
        if outcome is not None:
            raise outcome
        if entry.authenticated:
            ctx.authenticated.add(pm['id'])
            pm['_set_up'] = _saves_the_card(session)  # authenticated for later, off-session payments too
    customer = _customer(ctx, session, entry.name)
    now = ctx.now(customer)
    mandate = None
    if isinstance(entry, SepaEntry):
        saved = customer is not None and _saves_the_card(session)
        single_use = None if saved else (session['amount_total'], session['currency'])
        mandate = sepa.new_mandate(
            ctx, payment_method=pm['id'], accepted_at=now, ip_address=entry.ip_address, user_agent=entry.user_agent,
            single_use=single_use,
        )  # fmt: skip
        pm['_mandate'] = mandate['id']
    ctx.save(pm)
    if customer is not None and _saves_the_card(session):
        payment_methods.attach_to(ctx, pm, customer)
    if session['mode'] == 'subscription':
        _subscribe(ctx, session, customer, pm, now)
    elif session['mode'] == 'payment':
        _pay(ctx, session, customer, pm, now)
    else:
        intent_data = session['_intent_data']
        intent = new_setup_intent(
            ctx, customer=customer['id'], payment_method=pm['id'], now=now, metadata=intent_data.get('metadata'),
            payment_method_types=session['payment_method_types'], mandate=mandate['id'] if mandate else None,
        )  # fmt: skip
        session['setup_intent'] = intent['id']
    session.update(status='complete', url=None)
    session['customer'] = customer['id'] if customer else None
    session['customer_details'] = checkout.customer_details(customer, session['customer_email'], entry.name)
    return ctx.save_and_emit('checkout.session.completed', session)


def _customer(ctx: Context, session: dict, name: str) -> dict | None:
    if session['customer']:
        return ctx.load('customer', session['customer'])
    needs_one = session['mode'] != 'payment' or session['customer_creation'] == 'always'
    if not needs_one and not (session['invoice_creation'] or {}).get('enabled'):
        return None
    return customers.create(ctx, {'email': session['customer_email'] or '', 'name': name})


def _saves_the_card(session: dict) -> bool:
    """As on Stripe: subscription and setup mode keep the card on the customer; payment mode only when asked.

    Stripe never makes it the customer's default (invoice_settings.default_payment_method): in subscription mode
    it becomes the subscription's own default_payment_method, in the other modes nobody's default.
    """
    if session['mode'] != 'payment':
        return True
    return bool((session['_intent_data'] or {}).get('setup_future_usage'))


def _subscribe(ctx: Context, session: dict, customer: dict, pm: dict, now: int) -> None:
    data = session['_subscription_data']
    subscription = lifecycle.start(
        ctx,
        customer=customer,
        item_params=[{'price': item['price'], 'quantity': str(item['quantity'])} for item in session['_line_items']],
        default_payment_method=pm['id'],
        metadata=data.get('metadata'),
        trial_end=session.get('_trial_end'),
        payment_behavior='error_if_incomplete',
        now=now,
        description=data.get('description'),
    )
    session['subscription'] = subscription['id']
    session['invoice'] = subscription['latest_invoice']
    trialing = subscription['status'] == 'trialing'
    session['payment_status'] = 'no_payment_required' if trialing else 'paid'


def _pay(ctx: Context, session: dict, customer: dict | None, pm: dict, now: int) -> None:
    intent_data = session['_intent_data']
    intent = new_payment_intent(
        ctx,
        amount=session['amount_total'],
        currency=session['currency'],
        customer=customer['id'] if customer else None,
        payment_method=pm['id'],
        description=intent_data.get('description'),
        now=now,
        metadata=intent_data.get('metadata'),
        payment_method_types=session['payment_method_types'],
        checkout_session=session['id'],
    )
    session['payment_intent'] = intent['id']
    if intent['status'] == 'processing':
        # A bank debit: the session is complete but unpaid until the payment settles.
        session['payment_status'] = 'unpaid'
        return
    session['payment_status'] = 'paid'
    _invoice_the_payment(ctx, session, customer, intent, now)


def payment_settled(ctx: Context, session_id: str, intent: dict, *, succeeded: bool, now: int) -> None:
    """The session's delayed payment settled: `checkout.session.async_payment_succeeded` or `..._failed`."""
    session = ctx.store.get(session_id, 'checkout.session')
    if session is None:
        return
    if succeeded:
        session['payment_status'] = 'paid'
        customer = ctx.store.get(session['customer'] or '', 'customer')
        # Like Stripe, the post-payment invoice is only made once there is a payment to record on it.
        _invoice_the_payment(ctx, session, customer, intent, now)
        ctx.save_and_emit('checkout.session.async_payment_succeeded', session)
    else:
        ctx.emit('checkout.session.async_payment_failed', session)


def _invoice_the_payment(ctx: Context, session: dict, customer: dict | None, intent: dict, now: int) -> None:
    if customer is None or not (session['invoice_creation'] or {}).get('enabled'):
        return
    invoice = invoicing.draft(
        ctx, customer=customer, subscription=None, lines=_invoice_lines(ctx, session, now), billing_reason='manual',
        period_start=now, period_end=now, created=now, currency=session['currency'],
    )  # fmt: skip
    settings = session['invoice_creation']['invoice_data']
    invoice.update(description=settings['description'], metadata=dict(settings['metadata']))
    invoice['footer'] = settings['footer'] or invoice['footer']
    invoicing.create(ctx, invoice)
    invoicing.finalize(ctx, invoice, now=now)
    invoice_payments.record_payment(ctx, invoice, intent, now=now)
    session['invoice'] = invoice['id']


def _invoice_lines(ctx: Context, session: dict, now: int) -> list[dict]:
    lines = []
    for item in session['_line_items']:
        price = ctx.load('price', item['price'])
        amount = price['unit_amount'] * item['quantity']
        product = ctx.store.get(price['product'], 'product') or {}
        lines.append({
            'id': new_id('il'),
            'object': 'line_item',
            'amount': amount,
            'currency': price['currency'],
            'description': product.get('name'),
            'discount_amounts': [],
            'discountable': True,
            'discounts': [],
            'invoice': None,
            'livemode': False,
            'metadata': {},
            'parent': {
                'type': 'invoice_item_details',
                'invoice_item_details': {'invoice_item': new_id('ii'), 'proration': False,
                                         'proration_details': {'credited_items': None}, 'subscription': None},
                'subscription_item_details': None,
            },  # fmt: skip
            'period': {'end': now, 'start': now},
            'pretax_credit_amounts': [],
            'pricing': {'type': 'price_details', 'price_details': {'price': price['id'], 'product': price['product']},
                        'unit_amount_decimal': str(price['unit_amount'])},  # fmt: skip
            'quantity': item['quantity'],
            'quantity_decimal': str(item['quantity']),
            'subscription': None,
            'subtotal': amount,
            'taxes': [],
        })  # fmt: skip
    return lines

"""Completing a Checkout Session: what the hosted page does once the card details look valid.

Everything happens in the caller's transaction, and the card is checked before anything is created, so a
declined card leaves no trace (no payment method, subscription or invoice).
"""

from dataclasses import dataclass

from . import invoicing, lifecycle
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


def complete(ctx: Context, session: dict, entry: CardEntry, quantities: dict[str, int]) -> dict:
    """Pay (or save the card for) an open session; raises a card error when the card is declined."""
    for item in session['_line_items']:
        if item['id'] in quantities and (item['adjustable_quantity'] or {}).get('enabled'):
            item['quantity'] = quantities[item['id']]
    checkout.set_amounts(session)
    pm = payment_methods.build(ctx, entry.card, exp_month=entry.exp_month, exp_year=entry.exp_year, name=entry.name)
    outcome = attach_outcome(pm) if session['mode'] == 'setup' else charge_outcome(pm)
    if outcome is not None:
        raise outcome
    customer = _customer(ctx, session, entry.name)
    ctx.save(pm)
    if customer is not None and _saves_the_card(session):
        payment_methods.attach_to(ctx, pm, customer)
    now = ctx.now(customer)
    if session['mode'] == 'subscription':
        _subscribe(ctx, session, customer, pm, now)
    elif session['mode'] == 'payment':
        _pay(ctx, session, customer, pm, now)
    else:
        intent_data = session['_intent_data']
        intent = new_setup_intent(
            ctx, customer=customer['id'], payment_method=pm['id'], now=now, metadata=intent_data.get('metadata')
        )
        session['setup_intent'] = intent['id']
    session.update(status='complete', url=None)
    session['customer'] = customer['id'] if customer else None
    session['customer_details'] = checkout.customer_details(customer, session['customer_email'], entry.name)
    ctx.save(session)
    ctx.emit('checkout.session.completed', session)
    return session


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
    )
    session.update(payment_intent=intent['id'], payment_status='paid')
    if customer is not None and (session['invoice_creation'] or {}).get('enabled'):
        invoice = invoicing.draft(
            ctx, customer=customer, subscription=None, lines=_invoice_lines(ctx, session, now), billing_reason='manual',
            period_start=now, period_end=now, created=now, currency=session['currency'],
        )  # fmt: skip
        settings = session['invoice_creation']['invoice_data']
        invoice.update(description=settings['description'], metadata=dict(settings['metadata']))
        invoice['footer'] = settings['footer'] or invoice['footer']
        invoicing.create(ctx, invoice)
        invoicing.finalize(ctx, invoice, now=now)
        invoicing.record_payment(ctx, invoice, intent, now=now)
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

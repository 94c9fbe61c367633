"""The hosted Checkout page at a session's `url`: shows what is bought and takes a test card, or in payment and
setup mode a test IBAN for SEPA Direct Debit (a radio group chooses; without JavaScript, CSS hides the other
method's fields, and without modern CSS both show and the radio still decides)."""

from dataclasses import replace
from functools import partial
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .. import checkout_flow
from ..billing import product_name
from ..cards import authentication_failed, is_digits
from ..context import Context
from ..emulator import Emulator
from ..money import format_interval, format_money
from ..resources import checkout
from . import cardform, sepaform, threeds
from .forms import post_payment_form
from .layout import brand, esc, not_found, page

_BUTTONS = {'subscription': 'Subscribe', 'payment': 'Pay', 'setup': 'Save card'}


async def show(request: Request) -> Response:
    emulator: Emulator = request.app.state.emulator
    ctx = emulator.context()
    with emulator.store.transaction():
        session = _open_session(ctx, request.path_params['session_id'])
    if session is None:
        return _not_found()
    return _render(ctx, session, cardform.CardForm())


async def submit(request: Request) -> Response:
    session_id = request.path_params['session_id']
    return await post_payment_form(
        request,
        find=lambda ctx: _open_session(ctx, session_id),
        pay=partial(_pay, request),
        render=_render,
        not_found=_not_found,
        reload=lambda ctx: ctx.load('checkout.session', session_id),
        paid=_paid,
    )


def _pay(request: Request, ctx: Context, session: dict, values: dict[str, str]) -> dict[str, str] | Response | None:
    """Complete the session with the card or bank account typed in; returns the form's errors instead if any."""
    if _method(session, values) == 'sepa_debit':
        client = request.client.host if request.client else None
        entry, errors = sepaform.read(values, ip_address=client, user_agent=request.headers.get('user-agent'))
    else:
        entry, errors = cardform.read(values, now=ctx.now(session['customer']))
    quantities, quantity_errors = _quantities(session, values)
    errors |= quantity_errors
    if entry is None or errors:
        return errors
    if isinstance(entry, checkout_flow.CardEntry) and entry.card.three_d_secure:  # on session: it always asks
        chosen = threeds.decision(values)
        if chosen is None:
            amount = None if session['mode'] == 'setup' else format_money(session['amount_total'] or 0,
                                                                        session['currency'])  # fmt: skip
            return threeds.challenge(ctx, action=ctx.url(f'/pay/{session["id"]}'), values=values, amount=amount)
        if chosen == 'fail':
            raise authentication_failed()
        entry = replace(entry, authenticated=True)
    checkout_flow.complete(ctx, session, entry, quantities)
    return None


def _paid(ctx: Context, session: dict) -> Response:
    if not session['success_url']:
        return _render(ctx, session, cardform.CardForm())
    return RedirectResponse(session['success_url'].replace('{CHECKOUT_SESSION_ID}', session['id']), status_code=303)


def _method(session: dict, values: dict[str, str]) -> str:
    """The payment method chosen on the form: a card unless the session offers SEPA Direct Debit and it was picked."""
    chosen = values.get('method', 'card')
    return chosen if chosen in session['payment_method_types'] else 'card'


def _open_session(ctx: Context, session_id: str) -> dict | None:
    session = ctx.store.get(session_id, 'checkout.session')
    return checkout.expire_if_due(ctx, session) if session is not None else None


def _quantities(session: dict, values: dict[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    quantities, errors = {}, {}
    for item in session['_line_items']:
        adjustable = item['adjustable_quantity'] or {}
        key = f'quantity_{item["id"]}'
        if not adjustable.get('enabled') or key not in values:
            continue
        raw = values[key].strip()
        if not is_digits(raw) or len(raw) > 6 or not adjustable['minimum'] <= int(raw) <= adjustable['maximum']:
            errors[key] = f'Enter a quantity between {adjustable["minimum"]} and {adjustable["maximum"]}.'
        else:
            quantities[item['id']] = int(raw)
    return quantities, errors


def _render(ctx: Context, session: dict, form: cardform.CardForm, *, status: int = 200) -> HTMLResponse:
    summary = _summary(ctx, session, form)
    if session['status'] == 'open':
        action = esc(ctx.url(f'/pay/{session["id"]}'))
        panel = f"""<form id="pay-form" method="post" action="{action}" novalidate>
{_payment_fields(ctx, session, form)}</form>"""
    else:
        panel = _finished(ctx, session)
    body = f'<section class="summary">{summary}</section><section class="pay"><div class="card">{panel}</div></section>'
    return HTMLResponse(page(f'{ctx.config.account_name} – Checkout', body), status_code=status)


def _payment_fields(ctx: Context, session: dict, form: cardform.CardForm) -> str:
    button = _BUTTONS[session['mode']]
    email = _email(ctx, session)
    after = _custom_text(session, 'after_submit')
    after = f'<p class="muted after-submit">{esc(after)}</p>' if after else ''
    if 'sepa_debit' not in session['payment_method_types']:
        heading = 'Card details' if session['mode'] == 'setup' else 'Pay with card'
        return f"""<h2>{heading}</h2>{email}{cardform.render(form)}
<button type="submit">{button}</button>{after}{cardform.TEST_CARDS_HINT}"""
    sepa = _method(session, form.values) == 'sepa_debit'
    alert = f'<div class="alert" role="alert">{esc(form.general_error)}</div>' if form.general_error else ''
    card_form = cardform.render(cardform.CardForm(form.values, form.errors))
    sepa_form = sepaform.render(form, ctx.config.account_name)
    label = (
        '<span class="for-card">Save card</span><span class="for-sepa">Save bank account</span>'
        if session['mode'] == 'setup'
        else esc(button)
    )
    radios = _radio('card', 'Card', checked=not sepa) + _radio('sepa_debit', 'SEPA Direct Debit', checked=sepa)
    return f"""<fieldset class="methods"><legend>Payment method</legend>{radios}</fieldset>{email}{alert}
<div class="method-fields" id="card-fields">{card_form}{cardform.TEST_CARDS_HINT}</div>
<div class="method-fields" id="sepa-fields">{sepa_form}</div>
<button type="submit">{label}</button>{after}"""


def _radio(value: str, label: str, *, checked: bool) -> str:
    radio_id = f'method-{value.split("_")[0]}'
    attributes = f'type="radio" id="{radio_id}" name="method" value="{value}"{" checked" if checked else ""}'
    return f'<label class="method" for="{radio_id}"><input {attributes}> {esc(label)}</label>'


def _summary(ctx: Context, session: dict, form: cardform.CardForm) -> str:
    back_url = session['cancel_url'] if session['status'] == 'open' else None
    header = brand(ctx.config.account_name, back_url=back_url)
    if session['mode'] == 'setup':
        return (
            f'{header}<h1>Set up a payment method</h1><p class="amount">Save your card</p>'
            '<p class="muted">Your card will be saved for future payments. You will not be charged now.</p>'
        )
    items = session['_line_items']
    prices = [ctx.load('price', item['price']) for item in items]
    currency = session['currency']
    recurring = next((price['recurring'] for price in prices if price['recurring']), None)
    per = f' <small>per {format_interval(recurring)}</small>' if recurring else ''
    # The text Portico asks to show by the pay button (`custom_text.submit`, "Buy 3,000 tokens") heads the summary.
    if headline := _custom_text(session, 'submit'):
        title = headline
    elif session['mode'] == 'subscription':
        title = f'Subscribe to {product_name(ctx, prices[0])}'
    else:
        title = f'Pay {ctx.config.account_name}'
    lines = ''.join(_line(ctx, item, price, form) for item, price in zip(items, prices, strict=True))
    amount = format_money(session['amount_total'] or 0, currency)
    # During a free trial nothing is charged today; the price applies once the trial ends.
    due_today = format_money(0, currency) if session.get('_trial_end') else amount
    return f"""{header}<h1>{esc(title)}</h1>
<p class="amount">{esc(amount)}{per}</p>
<ul class="lines">{lines}</ul>
<div class="total"><span>Total due today</span><span>{esc(due_today)}</span></div>"""


def _line(ctx: Context, item: dict, price: dict, form: cardform.CardForm) -> str:
    name = product_name(ctx, price)
    unit = format_money(price['unit_amount'], price['currency'])
    interval = f' / {format_interval(price["recurring"])}' if price['recurring'] else ''
    quantity = f'Qty {item["quantity"]}, {unit}{interval} each' if item['quantity'] != 1 else f'{unit}{interval}'
    adjustable = item['adjustable_quantity'] or {}
    control = ''
    if adjustable.get('enabled'):
        key = f'quantity_{item["id"]}'
        value = form.values.get(key, str(item['quantity']))
        error = form.errors.get(key)
        control = (
            f'<label for="{key}">Quantity</label><input id="{key}" name="{key}" form="pay-form" value="{esc(value)}" '
            f'inputmode="numeric" style="width:90px"'
            + (f' aria-invalid="true"><p class="field-error" role="alert">{esc(error)}</p>' if error else '>')
        )
    amount = format_money(price['unit_amount'] * item['quantity'], price['currency'])
    return (
        f'<li><div><div>{esc(name)}</div><div class="muted">{esc(quantity)}</div>{control}</div>'
        f'<div>{esc(amount)}</div></li>'
    )


def _email(ctx: Context, session: dict) -> str:
    """Who pays: the customer's name (Portico's organization) and email, as Checkout prefills them."""
    customer = ctx.store.get(session['customer'] or '', 'customer') or {}
    email = customer.get('email') or session['customer_email']
    who = ' · '.join(esc(part) for part in (customer.get('name'), email) if part)
    verb = 'Saving a card for' if session['mode'] == 'setup' else 'Paying as'
    return f'<p class="muted payer">{verb} {who}</p>' if who else ''


def _custom_text(session: dict, position: str) -> str:
    return ((session.get('custom_text') or {}).get(position) or {}).get('message') or ''


def _finished(ctx: Context, session: dict) -> str:
    if session['status'] == 'complete':
        link = session['success_url']
        target = link.replace('{CHECKOUT_SESSION_ID}', quote(session['id'])) if link else None
        back = f'<a class="button" href="{esc(target)}">Continue</a>' if target else ''
        heading = 'Card saved' if session['mode'] == 'setup' else 'Payment complete'
        intent = ctx.store.get(session['setup_intent'] or '', 'setup_intent') or {}
        if (ctx.store.get(intent.get('payment_method') or '', 'payment_method') or {}).get('type') == 'sepa_debit':
            heading = 'Bank account saved'
        note = ''
        payment = ctx.store.get(session['payment_intent'] or '', 'payment_intent') or {}
        if payment.get('status') == 'processing':
            heading = 'Payment processing'
            note = '<p>Your bank has been asked for the payment; it takes a few minutes to go through.</p>'
        elif session['mode'] == 'payment' and session['payment_status'] == 'unpaid':
            heading = 'Payment failed'
            note = '<p>Your bank refused the payment.</p>'
        return (
            f'<h2>{heading}</h2><p><span class="badge complete">Complete</span></p>{note}'
            f'<p>This checkout session is already complete. Nothing more will be charged.</p>{back}'
        )
    back = f'<a class="button" href="{esc(session["cancel_url"])}">Go back</a>' if session['cancel_url'] else ''
    return (
        '<h2>Session expired</h2><p><span class="badge expired">Expired</span></p>'
        f'<p>This checkout session has expired.</p>{back}'
    )


def _not_found() -> HTMLResponse:
    return not_found('Checkout session')

"""The hosted invoice page (`hosted_invoice_url`) and its PDF (`invoice_pdf`); an open invoice can be paid here."""

import datetime
import hmac

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..cards import charge_outcome
from ..context import Context
from ..emulator import Emulator
from ..errors import StripeError
from ..ids import new_id
from ..invoicing import hosted_token
from ..money import format_money
from ..pdf import invoice_pdf
from ..resources import payment_methods
from ..resources.invoices import pay_invoice
from . import cardform
from .forms import FormRefused, read_form
from .layout import brand, esc, page


async def show(request: Request) -> Response:
    emulator: Emulator = request.app.state.emulator
    ctx = emulator.context()
    invoice = _invoice(ctx, request)
    if invoice is None:
        return _not_found()
    return _render(ctx, invoice, request.path_params['token'], cardform.CardForm())


async def pay(request: Request) -> Response:
    emulator: Emulator = request.app.state.emulator
    ctx = emulator.context(request_id=new_id('req'))
    try:
        values = await read_form(request)
    except FormRefused as refused:
        return refused.response()
    token = request.path_params['token']
    try:
        with emulator.store.transaction():
            invoice = _invoice(ctx, request)
            if invoice is None:
                return _not_found()
            if invoice['status'] != 'open':
                return _render(ctx, invoice, token, cardform.CardForm())
            entry, errors = cardform.read(values, now=ctx.now(invoice['customer']))
            if entry is None:
                return _render(ctx, invoice, token, cardform.CardForm(values, errors), status=400)
            pm = payment_methods.build(
                ctx, entry.card, exp_month=entry.exp_month, exp_year=entry.exp_year, name=entry.name
            )
            if error := charge_outcome(pm):
                raise error
            ctx.save(pm)
            payment_methods.attach_to(ctx, pm, ctx.load('customer', invoice['customer']))
            pay_invoice(ctx, invoice, payment_method=pm['id'])
    except StripeError as error:
        invoice = _invoice(ctx, request)
        return _render(ctx, invoice, token, cardform.CardForm(values, general_error=error.message), status=402)
    return _render(ctx, invoice, token, cardform.CardForm())


async def pdf(request: Request) -> Response:
    emulator: Emulator = request.app.state.emulator
    ctx = emulator.context()
    invoice = _invoice(ctx, request)
    if invoice is None:
        return _not_found()
    customer = ctx.store.get(invoice['customer'], 'customer') or {}
    content = invoice_pdf(ctx, invoice, customer)
    filename = f'Invoice-{invoice["number"] or invoice["id"]}.pdf'
    return Response(
        content, media_type='application/pdf', headers={'Content-Disposition': f'inline; filename="{filename}"'}
    )


def _invoice(ctx: Context, request: Request) -> dict | None:
    invoice = ctx.store.get(request.path_params['invoice_id'], 'invoice')
    if invoice is None or not token_matches(hosted_token(ctx, invoice['id']), request.path_params['token']):
        return None
    return invoice


def token_matches(expected: str, given: str) -> bool:
    # Bytes: compare_digest refuses str with characters outside ASCII, and a URL may carry any.
    return hmac.compare_digest(expected.encode(), given.encode('utf-8', 'surrogatepass'))


def _render(ctx: Context, invoice: dict, token: str, form: cardform.CardForm, *, status: int = 200) -> HTMLResponse:
    currency = invoice['currency']

    def money(amount: int) -> str:
        return esc(format_money(amount, currency))

    lines = ''.join(
        f'<tr><td>{esc(line["description"])}<div class="muted">{_date(line["period"]["start"])} – '
        f'{_date(line["period"]["end"])}</div></td><td class="num">{line["quantity"] or ""}</td>'
        f'<td class="num">{money(line["amount"])}</td></tr>'
        for line in invoice['lines']['data']
    )
    status_text = invoice['status']
    pdf_url = esc(ctx.url(f'/invoice/{invoice["id"]}/{token}/pdf'))
    when = invoice['status_transitions']['paid_at'] or invoice['created']
    headline = 'Paid' if status_text == 'paid' else 'Due'
    summary = f"""{brand(ctx.config.account_name)}
<h1>Invoice {esc(invoice['number'] or '')}</h1>
<p class="amount">{money(invoice['amount_paid'] if status_text == 'paid' else invoice['amount_remaining'])}</p>
<p class="muted">{headline} {_date(when)} &middot; <span class="badge {esc(status_text)}">{esc(status_text)}</span></p>
<a class="button" href="{pdf_url}">Download invoice</a>"""
    details = f"""<h2>Invoice details</h2>
<p class="muted">Billed to {esc(invoice['customer_name'] or invoice['customer_email'] or invoice['customer'])}</p>
<table><thead><tr><th>Description</th><th class="num">Qty</th><th class="num">Amount</th></tr></thead>
<tbody>{lines}</tbody></table>
<div class="total"><span>Total</span><span>{money(invoice['total'])}</span></div>
<div class="total"><span>Amount paid</span><span>{money(invoice['amount_paid'])}</span></div>
<div class="total"><span>Amount remaining</span><span>{money(invoice['amount_remaining'])}</span></div>"""
    if status_text == 'open' and invoice['amount_remaining'] > 0:
        action = esc(ctx.url(f'/invoice/{invoice["id"]}/{token}'))
        details += f"""<form method="post" action="{action}" novalidate>
<h2 style="margin-top:28px">Pay this invoice</h2>{cardform.render(form)}
<button type="submit">Pay {money(invoice['amount_remaining'])}</button></form>"""
    body = (
        f'<section class="summary">{summary}</section><section class="pay"><div class="card">{details}</div></section>'
    )
    return HTMLResponse(page(f'Invoice {invoice["number"] or ""}', body), status_code=status)


def _date(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime('%b %-d, %Y')


def _not_found() -> HTMLResponse:
    return HTMLResponse(page('Not found', '<div class="card"><h2>Invoice not found</h2></div>'), status_code=404)

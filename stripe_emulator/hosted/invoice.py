"""The hosted invoice page (`hosted_invoice_url`) and its PDF (`invoice_pdf`); an open invoice can be paid here."""

import datetime
from functools import partial

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..cards import authentication_failed, charge_outcome
from ..context import Context
from ..invoicing import hosted_token
from ..money import format_money
from ..pdf import invoice_pdf
from ..resources import payment_methods
from ..resources.invoices import pay_invoice
from ..tax_ids import printed
from . import cardform
from .forms import post_payment_form
from .layout import brand, esc, not_found, page, token_matches
from .threeds import challenge, decision


async def show(request: Request) -> Response:
    ctx, invoice = _lookup(request)
    if invoice is None:
        return _not_found()
    return _render(ctx, invoice, cardform.CardForm(), token=request.path_params['token'])


async def pay(request: Request) -> Response:
    return await post_payment_form(
        request,
        find=lambda ctx: _invoice(ctx, request),
        pay=partial(_pay, token=request.path_params['token']),
        render=partial(_render, token=request.path_params['token']),
        not_found=_not_found,
    )


def _pay(ctx: Context, invoice: dict, values: dict[str, str], *, token: str) -> dict[str, str] | Response | None:
    """Pay the invoice with the card typed in (after 3-D Secure if it asks); returns the form's errors instead."""
    entry, errors = cardform.read(values, now=ctx.now(invoice['customer']))
    if entry is None:
        return errors
    pm = payment_methods.build(ctx, entry.card, exp_month=entry.exp_month, exp_year=entry.exp_year, name=entry.name)
    if error := charge_outcome(pm):
        raise error
    if entry.card.three_d_secure:
        chosen = decision(values)
        if chosen is None:
            amount = format_money(invoice['amount_remaining'], invoice['currency'])
            action = ctx.url(f'/invoice/{invoice["id"]}/{token}')
            return challenge(ctx, action=action, values=values, amount=amount)
        if chosen == 'fail':
            raise authentication_failed()
        ctx.authenticated.add(pm['id'])
    ctx.save(pm)
    payment_methods.attach_to(ctx, pm, ctx.load('customer', invoice['customer']))
    pay_invoice(ctx, invoice, payment_method=pm['id'])
    return None


async def pdf(request: Request) -> Response:
    ctx, invoice = _lookup(request)
    if invoice is None:
        return _not_found()
    customer = ctx.store.get(invoice['customer'], 'customer') or {}
    content = invoice_pdf(ctx, invoice, customer)
    filename = f'Invoice-{invoice["number"] or invoice["id"]}.pdf'
    return Response(
        content, media_type='application/pdf', headers={'Content-Disposition': f'inline; filename="{filename}"'}
    )


def _lookup(request: Request) -> tuple[Context, dict | None]:
    ctx = request.app.state.emulator.context()
    return ctx, _invoice(ctx, request)


def _invoice(ctx: Context, request: Request) -> dict | None:
    invoice = ctx.store.get(request.path_params['invoice_id'], 'invoice')
    if invoice is None or not token_matches(hosted_token(ctx, invoice['id']), request.path_params['token']):
        return None
    return invoice


def _render(ctx: Context, invoice: dict, form: cardform.CardForm, *, token: str, status: int = 200) -> HTMLResponse:
    currency = invoice['currency']

    def money(amount: int) -> str:
        return esc(format_money(amount, currency))

    lines = ''.join(
        f'<tr><td>{esc(line["description"])}<div class="muted">{_date(line["period"]["start"])} – '
        f'{_date(line["period"]["end"])}</div></td><td class="num">{line["quantity"] or ""}</td>'
        f'<td class="num">{money(line["amount"])}</td></tr>'
        for line in invoice['lines']['data']
    )
    tax_ids = ''.join(f'<p class="muted">{esc(printed(tax_id))}</p>' for tax_id in invoice['customer_tax_ids'] or [])
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
{tax_ids}<table><thead><tr><th>Description</th><th class="num">Qty</th><th class="num">Amount</th></tr></thead>
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
    return not_found('Invoice')

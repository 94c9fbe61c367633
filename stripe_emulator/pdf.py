"""The invoice PDF (`invoice_pdf`), drawn with fpdf2's built-in Helvetica."""

import datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from . import tax_ids
from .context import Context
from .money import format_money

# The built-in PDF fonts only cover Latin-1; spell out the few symbols outside it.
_REPLACEMENTS = {'€': 'EUR ', '–': '-', '—': '-', '’': "'", '“': '"', '”': '"', '…': '...'}


def invoice_pdf(ctx: Context, invoice: dict, customer: dict) -> bytes:
    pdf = FPDF(format='A4')
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_title(f'Invoice {invoice["number"] or invoice["id"]}')
    pdf.set_font('Helvetica', 'B', 22)
    pdf.cell(0, 12, 'Invoice', new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font('Helvetica', '', 10)
    facts = [
        ('Invoice number', invoice['number'] or '-'),
        ('Date of issue', _date(invoice['status_transitions']['finalized_at'] or invoice['created'])),
        ('Status', invoice['status'].capitalize()),
    ]
    if paid_at := invoice['status_transitions']['paid_at']:
        facts.append(('Paid on', _date(paid_at)))
    for label, value in facts:
        pdf.cell(40, 6, _text(label))
        pdf.cell(0, 6, _text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    _parties(pdf, ctx, invoice, customer)
    _lines(pdf, invoice)
    pdf.ln(8)
    pdf.set_font('Helvetica', '', 8)
    pdf.set_text_color(120, 120, 120)
    pdf.multi_cell(0, 4, _text('Issued by the Stripe emulator in test mode. No real payment was made.'))
    return bytes(pdf.output())


def _parties(pdf: FPDF, ctx: Context, invoice: dict, customer: dict) -> None:
    address = invoice.get('customer_address') or {}
    bill_to = [
        invoice.get('customer_name') or customer.get('name') or '',
        address.get('line1') or '',
        address.get('line2') or '',
        ' '.join(part for part in (address.get('postal_code'), address.get('city')) if part),
        address.get('country') or '',
        invoice.get('customer_email') or '',
        *(tax_ids.printed(tax_id) for tax_id in invoice.get('customer_tax_ids') or []),
    ]
    pdf.set_font('Helvetica', 'B', 10)
    pdf.cell(95, 6, _text(ctx.config.account_name))
    pdf.cell(0, 6, 'Bill to', new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font('Helvetica', '', 10)
    for line in [line for line in bill_to if line]:
        pdf.cell(95, 5, '')
        pdf.cell(0, 5, _text(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)


def _lines(pdf: FPDF, invoice: dict) -> None:
    currency = invoice['currency']
    pdf.set_font('Helvetica', 'B', 9)
    pdf.set_fill_color(246, 249, 252)
    pdf.cell(120, 8, 'Description', fill=True)
    pdf.cell(20, 8, 'Qty', align='R', fill=True)
    pdf.cell(0, 8, 'Amount', align='R', fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font('Helvetica', '', 9)
    for line in invoice['lines']['data']:
        period = f'{_date(line["period"]["start"])} - {_date(line["period"]["end"])}'
        y = pdf.get_y()
        pdf.multi_cell(120, 5, _text(f'{line["description"]}\n{period}'))
        end_y = pdf.get_y()
        pdf.set_xy(pdf.l_margin + 120, y)
        pdf.cell(20, 5, str(line['quantity'] or ''), align='R')
        pdf.cell(0, 5, _text(format_money(line['amount'], currency)), align='R')
        pdf.set_xy(pdf.l_margin, end_y + 2)
    pdf.ln(2)
    totals = [('Subtotal', invoice['subtotal']), ('Total', invoice['total'])]
    if invoice['starting_balance']:
        totals.append(('Applied balance', invoice['starting_balance']))
    totals += [('Amount paid', invoice['amount_paid']), ('Amount due', invoice['amount_remaining'])]
    for label, amount in totals:
        pdf.set_font('Helvetica', 'B' if label == 'Amount due' else '', 10)
        pdf.cell(140, 6, _text(label), align='R')
        pdf.cell(0, 6, _text(format_money(amount, currency)), align='R', new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _date(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime('%b %d, %Y')


def _text(value: str) -> str:
    for char, replacement in _REPLACEMENTS.items():
        value = value.replace(char, replacement)
    return value.encode('latin-1', errors='replace').decode('latin-1')

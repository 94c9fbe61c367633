"""The other dialogs behind the Subscription section: tokens, billing history and cancellation.

Each `open_…` function opens one dialog. Like every component they do no I/O of their own: they await the callbacks
they are given, which return None when the action was refused (the caller has already said why) or raise
ValidationFailed, whose messages appear next to the fields. The change dialogs are in change_dialogs, the cards in
card_dialogs.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from nicegui import background_tasks, ui

from components.dialog_kit import brand, busy, dialog_frame, submit, whole_field, whole_in
from components.forms import show_errors
from services.errors import ValidationFailed
from services.moments import long_date
from services.plans import format_money
from services.words import plural

if TYPE_CHECKING:
    from db.models import TokenLedgerEntry
    from services.billing.invoices import InvoicePage
    from services.billing.tokens import TokenOffer, TokenPurchase

# Ledger kinds the Token history marks with a label of their own.
KIND_LABELS = {'auto_top_up': 'Auto top-up'}


def open_add_tokens(
    *,
    offer: 'TokenOffer',
    checkout: Callable[[int], Awaitable[str | None]],
    pay_now: Callable[[int], Awaitable['TokenPurchase | None']],
) -> None:
    """Packs by "Quantity" and their total; then "Proceed to checkout" (any card), or, with a default card, "Pay
    $30.00 with Visa ending in 4242" at once. A refused card is told here, and leaves Checkout."""
    card = f'{brand(offer.card_brand)} ending in {offer.card_last4}' if offer.card_brand else ''
    refused = False
    with dialog_frame('Add tokens', width='36rem' if card else '30rem') as dialog:  # three buttons in a row
        price = format_money(offer.pack_price, offer.currency)
        ui.label(f'Tokens come in packs of {offer.pack_size:,} for {price} each.').classes('text-grey-8')
        quantity = whole_field('Quantity', value=1)
        tokens = ui.label()
        total = ui.label().classes('text-weight-medium')
        if card:
            ui.label(f'Pay now with your default card, {card}, or proceed to checkout to use another card.').classes(
                'text-grey-8'
            ).mark('add-tokens-card')
        refusal = ui.label().classes('text-negative').props('role=alert').mark('add-tokens-refusal')
        refusal.set_visibility(False)
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
            proceed = ui.button('Proceed to checkout').props('no-caps' + (' outline' if card else ''))
            pay = ui.button().props('no-caps') if card else None

        def show_total() -> None:
            packs = whole_in(quantity.value, 1, offer.max_packs)
            quantity.error = None if packs else f'Choose from 1 to {offer.max_packs} packs.'
            tokens.text = f'{plural(packs, "pack")} = {packs * offer.pack_size:,} tokens' if packs else ''
            total.text = f'Total: {format_money(packs * offer.pack_price, offer.currency)}' if packs else ''
            proceed.set_enabled(packs is not None)
            if pay is not None:
                amount = format_money((packs or 0) * offer.pack_price, offer.currency)
                pay.text = f'Pay {amount} with {card}' if packs else f'Pay with {card}'
                pay.set_enabled(packs is not None and not refused)

        async def go() -> None:
            packs = whole_in(quantity.value, 1, offer.max_packs)
            if packs is None or not proceed.enabled:
                return
            with busy(dialog):
                try:
                    url = await checkout(packs)
                except ValidationFailed as failure:
                    show_errors({'quantity': quantity}, failure, fallback='quantity')
                    url = None
            if url:
                proceed.disable()  # the browser is leaving for the checkout page
                ui.navigate.to(url)

        async def pay_at_once() -> None:
            nonlocal refused
            packs = whole_in(quantity.value, 1, offer.max_packs)
            if packs is None or not pay.enabled:
                return
            with busy(dialog):
                try:
                    purchase = await pay_now(packs)
                except ValidationFailed as failure:
                    show_errors({'quantity': quantity}, failure, fallback='quantity')
                    return
            if purchase is None:
                return  # refused before any payment, and said so
            if purchase.refusal:  # nothing was charged: Checkout can take another card, or ask the bank to confirm
                refused = True
                pay.disable()
                proceed.props(remove='outline')  # now the way to pay
                refusal.text = (f'{purchase.refusal} Nothing was charged and no tokens were added. Proceed to '
                                'checkout to pay with another card, or with this one if your bank asks to confirm '
                                'the payment.')  # fmt: skip
                refusal.set_visibility(True)
                return
            ui.notify(f'{purchase.tokens:,} tokens added.' if purchase.paid else
                      f'Payment processing: {purchase.tokens:,} tokens are added once it goes through.',
                      type='positive')  # fmt: skip
            dialog.close()

        quantity.on_value_change(show_total)
        proceed.on_click(go)
        if pay is not None:
            pay.on_click(pay_at_once)
        show_total()


def open_token_history(*, entries: list['TokenLedgerEntry'], daily_use: list[tuple[str, int]]) -> None:
    """Purchases (auto top-ups marked), consumptions, grants and refunds, newest first, under a chart of the last
    30 days' use."""
    with dialog_frame('Token history', width='40rem') as dialog:
        if any(used for _, used in daily_use):
            ui.label('Tokens used per day, last 30 days').classes('text-grey-8')
            ui.echart({
                'grid': {'left': 48, 'right': 12, 'top': 12, 'bottom': 28},
                'xAxis': {'type': 'category', 'data': [long_date(datetime.fromisoformat(day)) for day, _ in daily_use]},
                'yAxis': {'type': 'value'}, 'tooltip': {'trigger': 'axis'},
                'series': [{'type': 'bar', 'name': 'Tokens used', 'data': [used for _, used in daily_use]}],
            }).classes('w-full').style('height: 12rem')  # fmt: skip
        if not entries:
            ui.label('No token purchases yet.').classes('text-grey-7')
        else:
            grid = ui.grid(columns='auto 1fr auto').classes('w-full gap-x-4 gap-y-1 overflow-auto')
            with grid.style('max-height: 50vh'):
                for caption in ('Date', 'Description', 'Tokens'):
                    ui.label(caption).classes('text-grey-8 text-weight-medium gt-xs')  # a phone: no column headers
                for entry in sorted(entries, key=lambda entry: entry.created_at, reverse=True):
                    ui.label(long_date(entry.created_at))
                    if label := KIND_LABELS.get(entry.kind):
                        with ui.row().classes('items-center gap-x-2 gap-y-0'):
                            ui.badge(label, color='primary').props('outline').mark('ledger-kind')
                            ui.label(entry.description.removeprefix(f'{label}: '))
                    else:
                        ui.label(entry.description or entry.kind.capitalize())
                    ui.label(f'{entry.delta:+,}').classes('text-right' + (' text-positive' if entry.delta > 0 else ''))
        with ui.row().classes('w-full justify-end'):
            ui.button('Close', on_click=dialog.close).props('flat no-caps')


def open_low_balance_alert(*, threshold: int | None, save: Callable[[int | None], Awaitable[object | None]]) -> None:
    """ "Alert me below N tokens": every enabled admin gets one email each time the balance falls below N."""
    with dialog_frame('Alert me below') as dialog:
        ui.label('When fewer tokens than this are left, every enabled admin gets one email, and your product hears '
                 'tokens.low_balance. Leave it empty for no alert.').classes('text-grey-8')  # fmt: skip
        field = whole_field('Alert me below', value=threshold)

        async def save_it(button: ui.button) -> None:
            empty = field.value in (None, '')
            chosen = None if empty else whole_in(field.value, 1, 10**12)
            if not empty and chosen is None:
                field.error = 'Enter a whole number of tokens, at least 1, or clear the field.'
                return
            await submit(
                dialog,
                button,
                lambda: save(chosen),
                fields={'threshold': field},
                fallback='threshold',
                success='No alert is set.' if empty else f'You will hear when fewer than {chosen:,} are left.',
            )

        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
            ui.button('Save', on_click=lambda e: save_it(e.sender)).props('no-caps')


INVOICE_GRID = """
.invoice-grid { display: grid; grid-template-columns: auto 1fr auto auto auto auto; }
@media (max-width: 599px) { .invoice-grid { grid-template-columns: auto 1fr auto; } }
"""


def open_billing_history(*, load: Callable[[str | None], Awaitable['InvoicePage | None']]) -> None:
    with dialog_frame('Billing history', width='48rem') as dialog:
        # Six columns on a desktop; on a phone each invoice takes two lines of three (CSS in INVOICE_GRID).
        ui.add_css(INVOICE_GRID)
        table = ui.element('div').classes('invoice-grid w-full items-center gap-x-4 gap-y-1')
        with table:
            for caption in ('Date', 'Number', 'Amount', 'Status', '', ''):
                ui.label(caption).classes('text-grey-8 text-weight-medium gt-xs')  # a phone: no column headers
        note = ui.label('Loading invoices…').classes('text-grey-7')
        with ui.row().classes('w-full items-center'):
            more = ui.button('Load more').props('outline no-caps')
            more.set_visibility(False)
            ui.space()
            ui.button('Close', on_click=dialog.close).props('flat no-caps')
        shown: list[str] = []

        async def fetch(after: str | None) -> None:
            page = await load(after)
            if dialog.is_deleted:
                return
            if page is None:
                if not shown:
                    note.text = 'The invoices could not be loaded.'
                return
            with table:
                for invoice in page.rows:
                    ui.label(long_date(invoice.created))
                    ui.label(invoice.number or '—')
                    ui.label(format_money(invoice.total, invoice.currency)).classes('text-right')
                    ui.label(invoice.status.replace('_', ' ').capitalize())
                    for caption, url, named in (('View', invoice.hosted_url, 'View invoice'),
                                                ('PDF', invoice.pdf_url, 'PDF of invoice')):  # fmt: skip
                        if url:  # named for screen readers, which list the links of a page out of their rows
                            ui.link(caption, url, new_tab=True).props(f'aria-label="{named} {invoice.number or ""}"')
                        else:
                            ui.label()  # a draft has no page yet: keep the grid's columns
                    shown.append(invoice.id)
            note.text = 'No invoices yet.'
            note.set_visibility(not shown)
            table.set_visibility(bool(shown))
            more.set_visibility(page.has_more)

        async def fetch_more() -> None:
            if more.enabled and shown:
                with busy(dialog):
                    await fetch(shown[-1])

        more.on_click(fetch_more)
        background_tasks.create(fetch(None), name='load billing history', context=table)


def open_cancel_subscription(
    *,
    plan_name: str,
    ends_on: datetime,
    confirm: Callable[[str], Awaitable[object | None]],
    seats_used: int = 0,
    trial_seats: int = 0,
    tokens: int = 0,
) -> None:
    with dialog_frame('Cancel subscription') as dialog:
        ui.label(
            f'Your {plan_name} subscription will end on {long_date(ends_on)}. Until then everything keeps working.'
        )
        for consequence in cancellation_consequences(seats_used=seats_used, trial_seats=trial_seats, tokens=tokens):
            ui.label(consequence).classes('text-grey-8').mark('cancel-consequence')
        fields = {'reason': ui.textarea('Reason (optional)').props('maxlength=500 counter autogrow').classes('w-full')}
        with ui.row().classes('w-full justify-end'):
            ui.button('Keep subscription', on_click=dialog.close).props('flat no-caps')
            ui.button(
                'Cancel subscription',
                color='negative',
                on_click=lambda e: submit(
                    dialog,
                    e.sender,
                    lambda: confirm((fields['reason'].value or '').strip()),
                    fields=fields,
                    success=f'Your subscription will end on {long_date(ends_on)}.',
                ),
            ).props('no-caps')


def cancellation_consequences(*, seats_used: int, trial_seats: int, tokens: int) -> list[str]:
    """What becomes, at the end date, of the users beyond the trial's seats and of prepaid tokens."""
    allowance = plural(trial_seats, 'enabled user')
    lines = [f'After that your organization is back on the trial allowance of {allowance}.']
    if seats_used > trial_seats:
        stay = 'stays' if seats_used == 1 else 'stay'
        lines[0] += (f' Your {plural(seats_used, "enabled user")} {stay} enabled, but no one else can be enabled until '
                     f'fewer than {trial_seats:,} are.')  # fmt: skip
    if tokens > 0:
        lines.append(f'Your {tokens:,} prepaid tokens stay on your balance, but the product cannot spend them until '
                     'you subscribe again.')  # fmt: skip
    return lines


def open_remove_cancellation(
    *, plan_name: str, ends_on: datetime, confirm: Callable[[], Awaitable[object | None]]
) -> None:
    with dialog_frame('Remove scheduled cancellation') as dialog:
        ui.label(
            f'Your {plan_name} subscription is set to end on {long_date(ends_on)}. '
            'Remove the cancellation to keep it renewing.'
        )
        with ui.row().classes('w-full justify-end'):
            ui.button('Keep cancellation', on_click=dialog.close).props('flat no-caps')
            ui.button(
                'Remove scheduled cancellation',
                on_click=lambda e: submit(
                    dialog, e.sender, confirm, success='The cancellation was removed. Your subscription keeps renewing.'
                ),
            ).props('no-caps')

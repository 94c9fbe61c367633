"""The dialogs behind the Subscription section's buttons and its cogwheel menu.

Each `open_…` function opens one dialog. Like every component they do no I/O of their own: they await the callbacks
they are given, which return None when the action was refused (the caller has already said why) or raise
ValidationFailed, whose messages appear next to the fields.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from nicegui import background_tasks, events, ui

from components.forms import show_errors
from services.billing.manage import MAX_TOKEN_PACKS
from services.errors import ValidationFailed
from services.plans import Plan, format_money

if TYPE_CHECKING:
    from db.models import TokenLedgerEntry
    from services.billing.manage import Card, ChangePreview, InvoicePage

INTERVALS = {'month': 'Monthly', 'year': 'Yearly'}
ADDRESS_FIELDS = {
    'line1': 'Address line 1',
    'line2': 'Address line 2',
    'postal_code': 'Postal code',
    'city': 'City',
    'country': 'Country',
}
BRANDS = {'amex': 'American Express', 'diners': 'Diners Club', 'jcb': 'JCB', 'mastercard': 'Mastercard'}
PREVIEW_DELAY = 0.3  # seconds of quiet before asking what a change costs, so that typing "12" asks once
CONTROLS = (ui.button, ui.input, ui.number, ui.select)


def open_edit_subscription(
    *,
    plans: tuple[Plan, ...],
    current_plan_id: str,
    current_interval: str,
    current_seats: int,
    seats_in_use: int,
    preview: Callable[[str, str, int], Awaitable['ChangePreview | None']],
    confirm: Callable[[str, str, int], Awaitable[object | None]],
) -> None:
    by_id = {plan.id: plan for plan in plans}
    names = {plan.id: plan.name for plan in plans}
    with _dialog('Edit subscription') as dialog:
        fields = {
            'plan': ui.select(names, label='Plan', value=current_plan_id if current_plan_id in by_id else None),
            'interval': ui.select(INTERVALS, label='Billing interval', value=current_interval),
            'seats': _whole_field('Seats', value=current_seats),
        }
        for element in fields.values():
            element.classes('w-full')

        def fit_seats() -> None:
            plan = by_id.get(fields['plan'].value)
            if plan is None:
                return
            low = max(plan.min_seats, seats_in_use)
            fields['seats'].props['hint'] = f'{plan.name}: {low} to {plan.max_seats} seats, {seats_in_use} in use'
            fields['seats'].max, fields['seats'].min = plan.max_seats, low  # moves the value into the plan's range

        def chosen() -> tuple[str, str, int] | None:
            plan = by_id.get(fields['plan'].value)
            if plan is None:
                fields['plan'].error = 'Choose one of the plans.'
                return None
            low = max(plan.min_seats, seats_in_use)
            seats = _whole(fields['seats'].value, low, plan.max_seats)
            if seats is None:
                fields['seats'].error = (
                    f'{plan.name} allows at most {plan.max_seats} seats, and {seats_in_use} users are enabled.'
                    if low > plan.max_seats
                    else f'Choose from {low} to {plan.max_seats} seats.'
                )
                return None
            return plan.id, fields['interval'].value, seats

        fit_seats()
        fields['plan'].on_value_change(fit_seats)
        _ChangeForm(
            dialog,
            fields,
            values=chosen,
            preview=preview,
            confirm=confirm,
            success=lambda _: 'Your subscription was changed.',
            fallback='seats',
            unchanged=(current_plan_id, current_interval, current_seats),
            describe=lambda values: (
                f'You will have {names[values[0]]}, billed {INTERVALS[values[1]].lower()}, for {_seats(values[2])}.'
            ),
        )


def open_add_seats(
    *,
    current_seats: int,
    max_seats: int,
    currency: str,
    preview: Callable[[int], Awaitable['ChangePreview | None']],
    confirm: Callable[[int], Awaitable[object | None]],
) -> None:
    room = max_seats - current_seats
    with _dialog('Add seats') as dialog:
        ui.label(f'You have {current_seats} seats; your plan allows up to {max_seats}.').classes('text-grey-8')
        field = _whole_field('Seats to add', value=1, low=1, high=max(room, 1))
        fields = {'seats_to_add': field}

        def chosen() -> tuple[int] | None:
            seats = _whole(field.value, 1, room)
            if seats is None:
                field.error = f'Choose from 1 to {room} seats.' if room > 0 else f'Your plan allows {max_seats} seats.'
                return None
            return (seats,)

        _ChangeForm(
            dialog,
            fields,
            values=chosen,
            preview=preview,
            confirm=confirm,
            success=lambda values: f'You now have {current_seats + values[0]} seats.',
            fallback='seats_to_add',
            describe=lambda values: f'You will have {_seats(current_seats + values[0])}.',
            currency=currency,
        )


def open_add_tokens(
    *, pack_size: int, pack_price: int, currency: str, checkout: Callable[[int], Awaitable[str | None]]
) -> None:
    with _dialog('Add tokens') as dialog:
        price = format_money(pack_price, currency)
        ui.label(f'Tokens come in packs of {pack_size:,} for {price} each.').classes('text-grey-8')
        quantity = _whole_field('Quantity', value=1, low=1, high=MAX_TOKEN_PACKS)
        tokens = ui.label()
        total = ui.label().classes('text-weight-medium')
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
            proceed = ui.button('Proceed to checkout').props('no-caps')

        def show_total() -> None:
            packs = _whole(quantity.value, 1, MAX_TOKEN_PACKS)
            quantity.error = None if packs else f'Choose from 1 to {MAX_TOKEN_PACKS} packs.'
            tokens.text = f'{packs} pack{"s" if packs != 1 else ""} = {packs * pack_size:,} tokens' if packs else ''
            total.text = f'Total: {format_money(packs * pack_price, currency)}' if packs else ''
            proceed.set_enabled(packs is not None)

        async def go() -> None:
            packs = _whole(quantity.value, 1, MAX_TOKEN_PACKS)
            if packs is None or not proceed.enabled:
                return
            with _busy(dialog):
                try:
                    url = await checkout(packs)
                except ValidationFailed as failure:
                    show_errors({'quantity': quantity}, failure, fallback='quantity')
                    url = None
            if url:
                proceed.disable()  # the browser is leaving for the checkout page
                ui.navigate.to(url)

        quantity.on_value_change(show_total)
        proceed.on_click(go)
        show_total()


def open_token_history(*, entries: list['TokenLedgerEntry']) -> None:
    with _dialog('Token history', width='36rem') as dialog:
        if not entries:
            ui.label('No token purchases yet.').classes('text-grey-7')
        else:
            grid = ui.grid(columns='auto 1fr auto').classes('w-full gap-x-4 gap-y-1 overflow-auto')
            with grid.style('max-height: 60vh'):
                for caption in ('Date', 'Description', 'Tokens'):
                    ui.label(caption).classes('text-grey-7 text-weight-medium')
                for entry in sorted(entries, key=lambda entry: entry.created_at, reverse=True):
                    ui.label(_date(entry.created_at))
                    ui.label(entry.description or entry.kind.capitalize())
                    ui.label(f'{entry.delta:+,}').classes('text-right' + (' text-positive' if entry.delta > 0 else ''))
        with ui.row().classes('w-full justify-end'):
            ui.button('Close', on_click=dialog.close).props('flat no-caps')


def open_payment_methods(
    *,
    load: Callable[[], Awaitable['list[Card] | None']],
    add: Callable[[], Awaitable[str | None]],
    update: Callable[[str, dict], Awaitable[object | None]],
    make_default: Callable[[str], Awaitable[object | None]],
    remove: Callable[[str], Awaitable[object | None]],
) -> 'PaymentMethodsDialog':
    """Open the dialog; the page keeps what this returns to call `reload()` when a webhook changes the cards."""
    return PaymentMethodsDialog(load=load, add=add, update=update, make_default=make_default, remove=remove)


def open_billing_history(*, load: Callable[[str | None], Awaitable['InvoicePage | None']]) -> None:
    with _dialog('Billing history', width='48rem') as dialog:
        table = ui.grid(columns='auto 1fr auto auto auto auto').classes('w-full items-center gap-x-4 gap-y-1')
        with table:
            for caption in ('Date', 'Number', 'Amount', 'Status', '', ''):
                ui.label(caption).classes('text-grey-7 text-weight-medium')
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
                    ui.label(_date(invoice.created))
                    ui.label(invoice.number or '—')
                    ui.label(format_money(invoice.total, invoice.currency)).classes('text-right')
                    ui.label(invoice.status.replace('_', ' ').capitalize())
                    for caption, url in (('View', invoice.hosted_url), ('PDF', invoice.pdf_url)):
                        if url:
                            ui.link(caption, url, new_tab=True)
                        else:
                            ui.label()  # a draft has no page yet: keep the grid's columns
                    shown.append(invoice.id)
            note.text = 'No invoices yet.'
            note.set_visibility(not shown)
            table.set_visibility(bool(shown))
            more.set_visibility(page.has_more)

        async def fetch_more() -> None:
            if more.enabled and shown:
                with _busy(dialog):
                    await fetch(shown[-1])

        more.on_click(fetch_more)
        background_tasks.create(fetch(None), name='load billing history', context=table)


def open_cancel_subscription(
    *, plan_name: str, ends_on: datetime, confirm: Callable[[str], Awaitable[object | None]]
) -> None:
    with _dialog('Cancel subscription') as dialog:
        ui.label(
            f'Your {plan_name} subscription will end on {_date(ends_on)}. Until then everything keeps working; '
            'after that the organization returns to the trial allowance of users.'
        )
        fields = {'reason': ui.textarea('Reason (optional)').props('maxlength=500 counter autogrow').classes('w-full')}
        with ui.row().classes('w-full justify-end'):
            ui.button('Keep subscription', on_click=dialog.close).props('flat no-caps')
            ui.button(
                'Cancel subscription',
                color='negative',
                on_click=lambda e: _submit(
                    dialog,
                    e.sender,
                    lambda: confirm((fields['reason'].value or '').strip()),
                    fields=fields,
                    success=f'Your subscription will end on {_date(ends_on)}.',
                ),
            ).props('no-caps')


def open_remove_cancellation(
    *, plan_name: str, ends_on: datetime, confirm: Callable[[], Awaitable[object | None]]
) -> None:
    with _dialog('Remove scheduled cancellation') as dialog:
        ui.label(
            f'Your {plan_name} subscription is set to end on {_date(ends_on)}. '
            'Remove the cancellation to keep it renewing.'
        )
        with ui.row().classes('w-full justify-end'):
            ui.button('Keep cancellation', on_click=dialog.close).props('flat no-caps')
            ui.button(
                'Remove scheduled cancellation',
                on_click=lambda e: _submit(
                    dialog, e.sender, confirm, success='The cancellation was removed. Your subscription keeps renewing.'
                ),
            ).props('no-caps')


class PaymentMethodsDialog:
    """The open "Payment methods" dialog: one group per saved card, and "Add payment method" below them."""

    def __init__(self, *, load, add, update, make_default, remove) -> None:
        self.load, self.add, self.update = load, add, update
        self.make_default, self.remove = make_default, remove
        self.cards: list[Card] | None = None
        self.removing: str | None = None  # the card whose removal waits for "Remove" or "Keep"
        self.generation = 0
        with _dialog('Payment methods', width='36rem') as self.dialog:
            self.list = ui.column().classes('w-full gap-2')
            with self.list:
                ui.label('Loading payment methods…').classes('text-grey-7')
            with ui.row().classes('w-full items-center'):
                ui.button('Add payment method', icon='add', on_click=self._add).props('outline no-caps')
                ui.space()
                ui.button('Close', on_click=self.dialog.close).props('flat no-caps')
        background_tasks.create(self.reload(), name='load payment methods', context=self.list)

    async def reload(self) -> None:
        """Show the saved cards again, e.g. when a webhook reports a card that was added."""
        if self.dialog.is_deleted:
            return
        self.generation += 1
        generation = self.generation
        cards = await self.load()
        if generation != self.generation or self.dialog.is_deleted:
            return  # closed, or a newer reload is under way
        if cards is not None:
            self.cards, self.removing = cards, None
            self._render()
        elif self.cards is None:
            self.list.clear()
            with self.list:
                ui.label('The payment methods could not be loaded.').classes('text-grey-7')

    def _render(self) -> None:
        self.list.clear()
        with self.list:
            if not self.cards:
                ui.label('No saved cards yet.').classes('text-grey-7')
            for card in self.cards:
                self._card(card)

    def _card(self, card: 'Card') -> None:
        name = f'{_brand(card.brand)} ending in {card.last4}'
        group = ui.card().props('flat bordered role=group').classes('w-full q-pa-sm gap-1')
        group.props['aria-label'] = name
        with group:
            with ui.row().classes('w-full items-center no-wrap'):
                ui.icon('credit_card', size='sm').classes('text-grey-7')
                with ui.column().classes('gap-0'):
                    with ui.row().classes('items-center gap-2'):
                        ui.label(f'{_brand(card.brand)} •••• {card.last4}').classes('text-weight-medium')
                        if card.is_default:
                            ui.badge('Default')
                    ui.label(f'Expires {card.exp_month:02d}/{card.exp_year}').classes('text-caption text-grey-7')
                ui.space()
                if self.removing != card.id:
                    ui.button('Edit', on_click=lambda: self._edit(card)).props('flat dense no-caps')
                    if not card.is_default:
                        ui.button(
                            'Make default',
                            on_click=lambda e: self._act(
                                e.sender, lambda: self.make_default(card.id), f'{name} is now the default.'
                            ),
                        ).props('flat dense no-caps')
                    ui.button('Remove', on_click=lambda: self._ask_removal(card.id)).props('flat dense no-caps')
            if self.removing == card.id:
                with ui.row().classes('w-full items-center justify-end'):
                    ui.label(f'Remove {name}?')
                    ui.button('Keep', on_click=lambda: self._ask_removal(None)).props('flat dense no-caps')
                    ui.button(
                        'Remove',
                        color='negative',
                        on_click=lambda e: self._act(e.sender, lambda: self.remove(card.id), f'{name} was removed.'),
                    ).props('dense no-caps')

    def _ask_removal(self, card_id: str | None) -> None:
        self.removing = card_id
        self._render()

    async def _act(self, button: ui.button, action: Callable[[], Awaitable[object | None]], success: str) -> None:
        if not button.enabled:
            return
        with _busy(self.dialog):
            done = await action()
        if done is None:
            self._ask_removal(None)  # refused: the same cards again, without the question
        else:
            ui.notify(success, type='positive')
            await self.reload()

    async def _add(self, event: events.ClickEventArguments) -> None:
        if not event.sender.enabled:
            return
        with _busy(self.dialog):
            url = await self.add()
        if url:
            event.sender.disable()  # the browser is leaving for the page that saves a card
            ui.navigate.to(url)

    def _edit(self, card: 'Card') -> None:
        address = card.address or {}
        this_year = datetime.now().year
        with _dialog('Edit payment method') as dialog:
            ui.label(f'{_brand(card.brand)} •••• {card.last4}').classes('text-grey-8')
            with ui.row().classes('w-full no-wrap'):
                fields = {  # NiceGUI's validation clears a field's message as soon as it is edited
                    'exp_month': ui.number('Expiration month', value=card.exp_month, min=1, max=12, precision=0),
                    'exp_year': ui.number(
                        'Expiration year', value=card.exp_year, min=this_year, max=this_year + 20, precision=0
                    ),
                }
            fields['name'] = ui.input('Cardholder name', value=card.name or '')
            for key, label in ADDRESS_FIELDS.items():
                fields[key] = ui.input(label, value=address.get(key) or '')
            fields['country'].props('maxlength=2 hint="Two letters, e.g. NL"')
            for element in fields.values():
                element.classes('w-full')

            def values() -> dict:
                address = {key: (fields[key].value or '').strip() for key in ADDRESS_FIELDS}
                return {
                    'exp_month': _whole(fields['exp_month'].value, 1, 12),
                    'exp_year': _whole(fields['exp_year'].value, 1, 9999),  # the service says which years it takes
                    'name': (fields['name'].value or '').strip(),
                    'address': address | {'country': address['country'].upper()},
                }

            async def save(button: ui.button) -> None:
                saved = await _submit(
                    dialog,
                    button,
                    lambda: self.update(card.id, values()),
                    fields=fields,
                    success=f'{_brand(card.brand)} ending in {card.last4} was saved.',
                )
                if saved is not None:
                    await self.reload()

            with ui.row().classes('w-full justify-end'):
                ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
                ui.button('Save', on_click=lambda e: save(e.sender)).props('no-caps')


class _ChangeForm:
    """What a subscription change costs, asked again whenever the fields change, then "Confirm" and "Cancel".

    `values()` reads the fields into the callbacks' arguments, or puts a message at a field and returns None.
    Confirm stays disabled until the charge for exactly the values on screen is shown.
    """

    def __init__(
        self,
        dialog: ui.dialog,
        fields: dict[str, ui.element],
        *,
        values: Callable[[], tuple | None],
        preview: Callable[..., Awaitable['ChangePreview | None']],
        confirm: Callable[..., Awaitable[object | None]],
        success: Callable[[tuple], str],
        fallback: str,
        unchanged: tuple | None = None,
        describe: Callable[[tuple], str] | None = None,
        currency: str = '',
    ) -> None:
        self.dialog, self.fields, self.values = dialog, fields, values
        self.preview, self.confirm, self.success = preview, confirm, success
        self.fallback, self.unchanged, self.describe, self.currency = fallback, unchanged, describe, currency
        self.generation = 0
        self.shown: tuple | None = None  # the values whose charge is on screen
        self.note = ui.label().classes('text-weight-medium')
        self.charge = ui.column().classes('w-full gap-1')
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
            self.button = ui.button('Confirm', on_click=self._confirm).props('no-caps')
        for element in fields.values():
            element.on_value_change(self.changed)
        self.changed()

    def changed(self) -> None:
        self.generation += 1
        self.shown = None
        self.button.disable()
        show_errors(self.fields, None)
        values = self.values()
        self.note.text = self.describe(values) if values and values != self.unchanged and self.describe else ''
        self.note.set_visibility(bool(self.note.text))
        self.charge.clear()
        with self.charge:
            if values is not None and values == self.unchanged:
                ui.label('Change the plan, billing interval or seats to see what it costs.').classes('text-grey-7')
            elif values is not None:
                ui.label('Working out the charge…').classes('text-grey-7')
                background_tasks.create(self._fetch(values, self.generation), name='preview', context=self.charge)

    async def _fetch(self, values: tuple, generation: int) -> None:
        await asyncio.sleep(PREVIEW_DELAY)
        if generation != self.generation or self.dialog.is_deleted:
            return
        try:
            preview = await self.preview(*values)
        except ValidationFailed as failure:
            preview = failure
        if generation != self.generation or self.dialog.is_deleted:
            return  # the fields changed meanwhile: a newer preview is on its way
        self.charge.clear()
        if isinstance(preview, ValidationFailed):
            show_errors(self.fields, preview, fallback=self.fallback)
        elif preview is not None:
            with self.charge:
                _charge(preview, self.currency)
            self.shown = values
            self.button.enable()

    async def _confirm(self) -> None:
        values = self.shown
        if values is None or not self.button.enabled:
            return
        success = self.success(values)
        await _submit(
            self.dialog,
            self.button,
            lambda: self.confirm(*values),
            success=success,
            fields=self.fields,
            fallback=self.fallback,
        )
        if not self.dialog.is_deleted:
            self.button.set_enabled(self.shown is not None and self.dialog.value)


@contextmanager
def _dialog(title: str, *, width: str = '30rem') -> Iterator[ui.dialog]:
    """A dialog named `title` for screen readers and tests, deleted as soon as it is closed."""
    # Created at the page's top level: a dialog opened from the cogwheel menu must outlive the menu being re-rendered.
    with ui.context.client.layout:
        dialog = ui.dialog()
    dialog.props['aria-label'] = title
    dialog.on_value_change(lambda event: None if event.value else dialog.delete())
    with dialog, ui.card().style(f'width: {width}; max-width: 95vw'):
        ui.label(title).classes('text-h6').props('role=heading aria-level=2')
        yield dialog
    dialog.open()


@contextmanager
def _busy(dialog: ui.dialog) -> Iterator[None]:
    """While a callback runs, the dialog stays open and its controls are disabled: a double click cannot send twice."""
    controls = [element for element in dialog.descendants() if isinstance(element, CONTROLS) and element.enabled]
    dialog.props('persistent')
    for control in controls:
        control.disable()
    try:
        yield
    finally:
        if not dialog.is_deleted:
            dialog.props(remove='persistent')
            for control in controls:
                if not control.is_deleted:  # a re-render may have replaced it
                    control.enable()


async def _submit(
    dialog: ui.dialog,
    button: ui.button,
    action: Callable[[], Awaitable[object | None]],
    *,
    success: str,
    fields: dict[str, ui.element] | None = None,
    fallback: str | None = None,
) -> object | None:
    """Run the dialog's action once: on success say so and close; on field errors show them and stay open."""
    if not button.enabled:
        return None
    with _busy(dialog):
        try:
            result = await action()
        except ValidationFailed as failure:
            show_errors(fields or {}, failure, fallback=fallback)
            return None
    if result is not None:
        ui.notify(success, type='positive')
        dialog.close()
    return result


def _charge(preview: 'ChangePreview', currency: str) -> None:
    currency = preview.currency or currency
    if preview.due_today > 0:
        ui.label(f'Charged today: {format_money(preview.due_today, currency)}').classes('text-weight-medium')
    elif preview.due_today < 0:
        ui.label(f'Credited today: {format_money(-preview.due_today, currency)}').classes('text-weight-medium')
    else:
        ui.label('Nothing is charged today.').classes('text-weight-medium')
    if preview.credit > 0:
        ui.label(
            f'A credit of {format_money(preview.credit, currency)} for the unused time goes to your balance; '
            'Stripe takes it off your next invoices.'
        )
    ui.label(f'Next invoice: {format_money(preview.next_amount, currency)} on {_date(preview.next_date)}')
    for line in preview.lines:
        ui.label(line).classes('text-caption text-grey-7')
    if preview.warning:
        with ui.row().classes('w-full no-wrap items-start bg-orange-1 text-orange-10 q-pa-sm rounded-borders'):
            ui.icon('warning')
            ui.label(preview.warning)


def _whole_field(label: str, *, value: int, low: int | None = None, high: int | None = None) -> ui.number:
    """A whole-number field whose messages this module sets itself: NiceGUI's own validation would clear them."""
    field = ui.number(label, value=value, min=low, max=high, step=1, precision=0).without_auto_validation()
    return field.classes('w-full')


def _whole(value: float | None, low: int, high: int) -> int | None:
    """A number field's value as a whole number from `low` to `high`, or None."""
    if value is None or not float(value).is_integer() or not low <= value <= high:
        return None
    return int(value)


def _seats(count: int) -> str:
    return f'{count} seat' if count == 1 else f'{count} seats'


def _brand(brand: str) -> str:
    return BRANDS.get(brand, brand.capitalize())


def _date(moment: datetime) -> str:
    return f'{moment:%B} {moment.day}, {moment.year}'

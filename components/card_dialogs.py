"""The "Payment methods" dialog: the saved cards, each with "Edit", "Make default" and "Remove"."""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from nicegui import background_tasks, events, ui

from components.dialog_kit import brand, busy, dialog_frame, focus_soon, retitle, submit, whole_field, whole_in
from services.billing.payment_methods import ONLY_CARD
from services.organizations import countries

if TYPE_CHECKING:
    from services.billing.payment_methods import Card

ADDRESS_FIELDS = {
    'line1': 'Address line 1',
    'line2': 'Address line 2',
    'postal_code': 'Postal code',
    'city': 'City',
    'country': 'Country',
}


def open_payment_methods(
    *,
    load: Callable[[], Awaitable['list[Card] | None']],
    add: Callable[[], Awaitable[str | None]],
    update: Callable[[str, dict], Awaitable[object | None]],
    make_default: Callable[[str], Awaitable[object | None]],
    remove: Callable[[str], Awaitable[object | None]],
    owed: str | None = None,
    pay_now: Callable[[], Awaitable[bool]] | None = None,
    renewing: bool = False,
) -> 'PaymentMethodsDialog':
    """Open the dialog; the page keeps what this returns to call `reload()` when a webhook changes the cards.

    With `owed` (after a failed payment, from "Update payment method"), it says so and offers "Pay now" with the
    default card; a card added from it becomes the default."""
    return PaymentMethodsDialog(load=load, add=add, update=update, make_default=make_default, remove=remove,
                                owed=owed, pay_now=pay_now, renewing=renewing)  # fmt: skip


class PaymentMethodsDialog:
    """The open "Payment methods" dialog: one group per saved card, and "Add payment method" below them."""

    def __init__(self, *, load, add, update, make_default, remove, owed=None, pay_now=None, renewing=False) -> None:
        self.renewing = renewing  # a live subscription renews with the default card: its only card cannot go
        self.load, self.add, self.update = load, add, update
        self.make_default, self.remove, self.pay_now = make_default, remove, pay_now
        self.cards: list[Card] | None = None
        self.removing: str | None = None  # the card whose removal waits for "Remove" or "Keep"
        self.generation = 0
        with dialog_frame('Payment methods', width='36rem') as self.dialog:
            # Two views of one dialog: the cards, or one card's form ("Edit payment method") in their place.
            self.cards_view = ui.column().classes('w-full gap-2')
            self.edit_view = ui.column().classes('w-full gap-2')
            self.edit_view.set_visibility(False)
            with self.cards_view:
                if owed:
                    ui.label(f'{owed} is owed. Make the card you want to pay with the default, or add one, then '
                             '"Pay now".').classes('text-body2').mark('owed')  # fmt: skip
                self.list = ui.column().classes('w-full gap-2')
                with self.list:
                    ui.label('Loading payment methods…').classes('text-grey-7')
                with ui.row().classes('w-full items-center'):
                    ui.button('Add payment method', icon='add', on_click=self._add).props('outline no-caps')
                    ui.space()
                    ui.button('Close', on_click=self.dialog.close).props('flat no-caps')
                    if pay_now:
                        ui.button('Pay now', on_click=self._pay).props('no-caps color=negative')
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
        name = f'{brand(card.brand)} ending in {card.last4}'
        group = ui.card().props('flat bordered role=group').classes('w-full q-pa-sm gap-1')
        group.props['aria-label'] = name
        with group:
            with ui.row().classes('w-full items-center no-wrap'):
                ui.icon('credit_card', size='sm').classes('text-grey-7')
                with ui.column().classes('gap-0'):
                    with ui.row().classes('items-center gap-2'):
                        ui.label(f'{brand(card.brand)} •••• {card.last4}').classes('text-weight-medium')
                        if card.is_default:
                            ui.badge('Default')
                    ui.label(f'Expires {card.exp_month:02d}/{card.exp_year}').classes('text-caption text-grey-7')
                ui.space()
                if self.removing != card.id:
                    # Each card's buttons say which card (WCAG 2.4.6): "Edit Visa ending in 4242".
                    ui.button('Edit', on_click=lambda: self._edit(card)).props(
                        f'flat dense no-caps aria-label="Edit {name}"'
                    )
                    if not card.is_default:
                        ui.button(
                            'Make default',
                            on_click=lambda e: self._act(
                                e.sender, lambda: self.make_default(card.id), f'{name} is now the default.'
                            ),
                        ).props(f'flat dense no-caps aria-label="Make default: {name}"')
                    ui.button('Remove', on_click=lambda: self._ask_removal(card.id)).props(
                        f'flat dense no-caps aria-label="Remove {name}"'
                    )
            if self.removing == card.id and self.renewing and len(self.cards or []) == 1:
                # Refused before it is asked: the reason instead of a confirmation (the service refuses it too).
                with ui.row().classes('w-full items-center justify-end no-wrap'):
                    ui.label(ONLY_CARD).classes('text-negative').mark('only-card')
                    ui.button('OK', on_click=lambda: self._ask_removal(None)).props('flat dense no-caps')
            elif self.removing == card.id:
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
        with busy(self.dialog):
            done = await action()
        if done is None:
            self._ask_removal(None)  # refused: the same cards again, without the question
        else:
            ui.notify(success, type='positive')
            await self.reload()

    async def _pay(self, event: events.ClickEventArguments) -> None:
        if not event.sender.enabled:
            return
        with busy(self.dialog):
            paid = await self.pay_now()
        if paid:
            self.dialog.close()

    async def _add(self, event: events.ClickEventArguments) -> None:
        if not event.sender.enabled:
            return
        with busy(self.dialog):
            url = await self.add()
        if url:
            event.sender.disable()  # the browser is leaving for the page that saves a card
            ui.navigate.to(url)

    def _show_cards(self, card_name: str) -> None:
        """Back from a card's form to the cards, the focus on that card's "Edit" (WCAG 2.4.3)."""
        self.edit_view.set_visibility(False)
        self.edit_view.clear()
        self.cards_view.set_visibility(True)
        retitle(self.dialog, 'Payment methods')
        focus_soon(f'\'[aria-label="Edit {card_name}"]\'')

    def _edit(self, card: 'Card') -> None:
        address = card.address or {}
        name = f'{brand(card.brand)} ending in {card.last4}'
        dialog = self.dialog
        self.edit_view.clear()
        with self.edit_view:
            ui.label(f'{brand(card.brand)} •••• {card.last4}').classes('text-grey-8')
            with ui.row().classes('w-full no-wrap'):
                fields = {  # no min or max: NiceGUI would clamp 13 to 12; the service says what is wrong instead
                    'exp_month': whole_field('Expiration month', value=card.exp_month),
                    'exp_year': whole_field('Expiration year', value=card.exp_year),
                }
            fields['name'] = ui.input('Cardholder name', value=card.name or '')
            for key, label in ADDRESS_FIELDS.items():
                if key == 'country':  # the organization form's searchable picker, not two free letters
                    fields[key] = ui.select(countries(), label=label, value=(address.get(key) or '').upper() or None,
                                            with_input=True, clearable=True)  # fmt: skip
                else:
                    fields[key] = ui.input(label, value=address.get(key) or '')
            for element in fields.values():
                element.classes('w-full')

            def values() -> dict:
                address = {key: (fields[key].value or '').strip() for key in ADDRESS_FIELDS}
                return {
                    'exp_month': whole_in(fields['exp_month'].value, -(10**6), 10**6),  # the service says which
                    'exp_year': whole_in(fields['exp_year'].value, -(10**6), 10**6),  # months and years it takes
                    'name': (fields['name'].value or '').strip(),
                    'address': address | {'country': address['country'].upper()},
                }

            async def save(button: ui.button) -> None:
                saved = await submit(
                    dialog,
                    button,
                    lambda: self.update(card.id, values()),
                    fields=fields,
                    success=f'{name} was saved.',
                    close=False,
                )
                if saved is not None:
                    await self.reload()
                    self._show_cards(name)

            with ui.row().classes('w-full justify-end'):
                ui.button('Cancel', on_click=lambda: self._show_cards(name)).props('flat no-caps')
                ui.button('Save', on_click=lambda e: save(e.sender)).props('no-caps')
        self.cards_view.set_visibility(False)
        self.edit_view.set_visibility(True)
        retitle(dialog, 'Edit payment method')
        focus_soon(f"'#c{fields['exp_month'].id}'")  # the form's first field, as a dialog of its own would

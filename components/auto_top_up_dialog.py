"""The "Auto top-up" dialog: below how many tokens, how many packs, at most how often a month; what one top-up costs
and which card pays it. Like every component it does no I/O: the service checks the numbers, and its messages
appear next to the fields."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.dialog_kit import brand, dialog_frame, submit, whole_in
from services.billing.auto_top_up import AutoTopUpOffer
from services.plans import format_money


def open_auto_top_up(
    *,
    offer: AutoTopUpOffer,
    save: Callable[[float | None, float | None, float | None], Awaitable[object | None]],
    turn_off: Callable[[], Awaitable[object | None]],
) -> None:
    status = offer.status
    with dialog_frame('Auto top-up') as dialog:
        ui.label('When the balance falls below the threshold, Portico buys token packs with your default card, at '
                 'most as often a month (UTC) as you allow.').classes('text-grey-8')  # fmt: skip
        if status.error:
            ui.label(f'It was switched off: {status.error} Save to turn it on again.').classes('text-negative')
        fields = {
            'below': _count('Top up below (tokens)', status.below or status.pack_size),
            'packs': _count('Packs to buy', status.packs),
            'monthly_cap': _count('Top-ups per month, at most', status.monthly_cap),
        }
        with ui.column().classes('gap-0'):  # one top-up: what it buys, for how much, with which card
            price = ui.label().classes('text-weight-medium').mark('auto-top-up-price')
            if offer.card_brand:
                ui.label(f'with {brand(offer.card_brand)} ending in {offer.card_last4}').mark('auto-top-up-card')
            else:
                ui.label('A default card is needed first: add one in "Payment methods" (in "Subscription settings"), '
                         'then come back here.').classes('text-negative').mark('auto-top-up-card')  # fmt: skip
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
            if status.below is not None:
                ui.button('Turn off', on_click=lambda e: submit(
                    dialog, e.sender, turn_off, success='Auto top-up is off.'
                )).props('flat no-caps color=negative')  # fmt: skip
            ui.button('Save', on_click=lambda e: submit(
                dialog, e.sender, lambda: save(*(field.value for field in fields.values())), fields=fields,
                success='Auto top-up is on.',
            )).props('no-caps').set_enabled(bool(offer.card_brand))  # fmt: skip

        def show_price() -> None:
            packs = whole_in(fields['packs'].value, 1, offer.max_packs)
            price.text = (f'{packs} pack{"s" if packs != 1 else ""}: {packs * status.pack_size:,} tokens for '
                          f'{format_money(packs * offer.pack_price, offer.currency)}' if packs else '')  # fmt: skip

        fields['packs'].on_value_change(show_price)
        show_price()


def _count(label: str, value: int) -> ui.number:
    """A number field that neither clamps nor rounds what was typed (unlike `whole_field`): a wrong number stays as
    typed, with the service's message next to it, and nothing is saved."""
    return ui.number(label, value=value, step=1).without_auto_validation().classes('w-full')

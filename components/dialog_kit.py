"""What the billing dialogs share: a dialog that deletes itself when closed, a busy state that stops double clicks,
one way to submit, and whole-number fields."""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from nicegui import ui

from components.forms import show_errors
from services.errors import ValidationFailed

if TYPE_CHECKING:
    from services.billing.payment_methods import Card

CONTROLS = (ui.button, ui.input, ui.number, ui.select)
BRANDS = {
    'amex': 'American Express',
    'cartes_bancaires': 'Cartes Bancaires',
    'diners': 'Diners Club',
    'eftpos_au': 'eftpos Australia',
    'jcb': 'JCB',
    'mastercard': 'Mastercard',
    'unionpay': 'UnionPay',
}


@contextmanager
def dialog_frame(title: str, *, width: str = '30rem') -> Iterator[ui.dialog]:
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
def busy(dialog: ui.dialog) -> Iterator[None]:
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


async def submit(
    dialog: ui.dialog,
    button: ui.button,
    action: Callable[[], Awaitable[object | None]],
    *,
    success: str,
    fields: dict[str, ui.element] | None = None,
    fallback: str | None = None,
    close: bool = True,
) -> object | None:
    """Run the dialog's action once: on success say so and close (unless `close` is False: the dialog goes on with
    another view); on field errors show them and stay open."""
    if not button.enabled:
        return None
    with busy(dialog):
        try:
            result = await action()
        except ValidationFailed as failure:
            show_errors(fields or {}, failure, fallback=fallback)
            return None
    if result is not None:
        ui.notify(success, type='positive')
        if close:
            dialog.close()
    return result


def focus_soon(selector: str) -> None:
    """Focus the element a CSS selector (a JavaScript string) finds, once the browser has drawn the update that made
    it visible; an input's wrapper gives the focus to its input."""
    focus = '(e?.matches("input, button") ? e : e?.querySelector("input, button"))?.focus()'
    ui.run_javascript(f'setTimeout(() => {{ const e = document.querySelector({selector}); {focus}; }}, 50)')


def retitle(dialog: ui.dialog, title: str) -> None:
    """Name the dialog (for screen readers and tests) and its heading anew: one dialog that shows another view, as
    "Payment methods" becomes "Edit payment method", rather than a second dialog stacked on the first."""
    dialog.props['aria-label'] = title
    dialog.update()
    heading = next(element for element in dialog.descendants() if element.props.get('role') == 'heading')
    heading.set_text(title)


def whole_field(label: str, *, value: int) -> ui.number:
    """A whole-number field whose messages this module sets itself: NiceGUI's own validation would clear them. No
    `min` or `max`: NiceGUI would clamp what was typed on blur (2000 seats becoming 500); a value out of range gets
    its message next to the field instead."""
    field = ui.number(label, value=value, step=1, precision=0).without_auto_validation()
    return field.classes('w-full')


def whole_in(value: float | None, low: int, high: int) -> int | None:
    """A number field's value as a whole number from `low` to `high`, or None."""
    if value is None or not float(value).is_integer() or not low <= value <= high:
        return None
    return int(value)


def brand(brand: str) -> str:
    """A card brand as people write it, from Stripe's code ('amex') or the card mirror's ('Amex')."""
    return BRANDS.get(brand.lower(), brand.capitalize())


def card_name(card: 'Card') -> str:
    """ "Visa ending in 4242", as the "Payment methods" dialog names each card."""
    return f'{brand(card.brand)} ending in {card.last4}'

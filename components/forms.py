"""Helpers that show a service's field errors next to the fields that caused them."""

from nicegui import ui

from services.errors import ValidationFailed


def show_errors(
    fields: dict[str, ui.element], failure: ValidationFailed | None, *, fallback: str | None = None
) -> None:
    """Put each message at its field; a message for a field the form lacks goes to `fallback` or a notification."""
    errors = failure.errors if failure else {}
    for name, element in fields.items():
        element.error = errors.get(name)
    for name, message in errors.items():
        if name not in fields:
            if fallback and fallback in fields:
                fields[fallback].error = message
            else:
                ui.notify(message, type='negative')

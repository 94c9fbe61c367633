"""The dialogs of a subscription's pauses and scheduled changes: "Pause subscription", "Resume subscription" and
"Cancel scheduled change". Each says what will happen, and when, before its button does it."""

from collections.abc import Awaitable, Callable
from datetime import datetime

from nicegui import ui

from components.dialog_kit import dialog_frame, submit
from services.billing.pausing import resume_date
from services.moments import long_date, now

_CHOICES = {1: '1 billing period', 2: '2 billing periods', 3: '3 billing periods', 0: 'Until I resume'}


def open_pause_subscription(
    *, plan_name: str, interval: str, confirm: Callable[[int | None], Awaitable[object | None]]
) -> None:
    with dialog_frame('Pause subscription') as dialog:
        ui.label(
            f'While your {plan_name} subscription is paused, nothing is billed and your users cannot use the product; '
            'you keep this portal. The unused part of the current period is credited to the invoice on resuming.'
        )
        choice = ui.radio(_CHOICES, value=1).props('aria-label="Pause for"')
        when = ui.label().classes('text-weight-medium').mark('resume-date')

        def periods() -> int | None:
            return choice.value or None

        def show_date() -> None:
            resumes = resume_date(now(), interval, periods())
            when.text = (f'It resumes on {long_date(resumes)}, and a new billing period starts then.' if resumes
                         else 'It stays paused until an admin resumes it.')  # fmt: skip

        choice.on_value_change(show_date)
        show_date()
        with ui.row().classes('w-full justify-end'):
            ui.button('Keep subscription', on_click=dialog.close).props('flat no-caps')
            ui.button(
                'Pause subscription',
                on_click=lambda e: submit(
                    dialog, e.sender, lambda: confirm(periods()), success='Your subscription is paused.'
                ),  # fmt: skip
            ).props('no-caps')


def open_resume_subscription(*, plan_name: str, confirm: Callable[[], Awaitable[object | None]]) -> None:
    with dialog_frame('Resume subscription') as dialog:
        ui.label(
            f'Your {plan_name} subscription resumes now: a new billing period starts today and is charged at once, '
            'less the credit for the time left unused when you paused. Your users can use the product again.'
        )
        with ui.row().classes('w-full justify-end'):
            ui.button('Not now', on_click=dialog.close).props('flat no-caps')
            ui.button(
                'Resume subscription',
                on_click=lambda e: submit(dialog, e.sender, confirm, success='Your subscription is active again.'),
            ).props('no-caps')


def open_cancel_scheduled_change(
    *, change: str, on: datetime, current: str, confirm: Callable[[], Awaitable[object | None]]
) -> None:
    with dialog_frame('Cancel scheduled change') as dialog:
        ui.label(f'Your subscription is set to change to {change} on {long_date(on)}. Cancel the change to keep '
                 f'{current}.')  # fmt: skip
        with ui.row().classes('w-full justify-end'):
            ui.button('Keep the change', on_click=dialog.close).props('flat no-caps')
            ui.button(
                'Cancel scheduled change',
                on_click=lambda e: submit(dialog, e.sender, confirm, success=f'You keep {current}.'),
            ).props('no-caps')

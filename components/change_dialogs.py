"""The dialogs that change the subscription and show what it costs first: "Edit subscription" and "+ Add seats"."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from nicegui import background_tasks, ui

from components.dialog_kit import card_name, dialog_frame, submit, whole_field, whole_in
from components.forms import show_errors
from services.errors import ValidationFailed
from services.moments import long_date
from services.plans import Interval, Plan, format_money, too_few_seats
from services.words import plural

if TYPE_CHECKING:
    from db.models import SubscriptionMirror
    from services.billing.payment_methods import Card
    from services.billing.schedules import ScheduledPreview
    from services.billing.subscriptions import ChangePreview

PREVIEW_DELAY = 0.3  # seconds of quiet before asking what a change costs, so that typing "12" asks once
WHEN = {'period_end': 'At the end of the current period', 'now': 'Now, with a credit'}


def open_edit_subscription(
    *,
    plans: tuple[Plan, ...],
    subscription: 'SubscriptionMirror',
    seats_in_use: int,
    preview: Callable[[str, str, int, str], Awaitable['ChangePreview | ScheduledPreview | None']],
    confirm: Callable[[str, str, int, str], Awaitable[object | None]],
) -> None:
    """`preview` and `confirm` take (plan, interval, seats, when): when is 'now' or 'period_end'."""
    by_id = {plan.id: plan for plan in plans}
    names = {plan.id: plan.name for plan in plans}
    current = (subscription.plan_id, subscription.interval, subscription.seats)
    with dialog_frame('Edit subscription') as dialog:
        fields = {
            'plan': ui.select(names, label='Plan', value=current[0] if current[0] in by_id else None),
            'interval': ui.select(_intervals(by_id.get(current[0]), plans), label='Billing interval', value=current[1]),
            'seats': whole_field('Seats', value=current[2]),
        }
        for element in fields.values():
            element.classes('w-full')
        # A downgrade may wait for the period's end (nothing charged or credited now), or apply now with a credit.
        fields['when'] = ui.radio(WHEN, value='period_end').props('aria-label="When"')
        fields['when'].set_visibility(False)

        def fit_to_plan() -> None:
            if (plan := by_id.get(fields['plan'].value)) is not None:
                _fit_to_plan(fields, plan, plans, seats_in_use)

        def chosen() -> tuple[str, str, int, str] | None:
            plan = by_id.get(fields['plan'].value)
            if plan is None:
                fields['plan'].error = 'Choose one of the plans.'
                return None
            seats = _seats_for(fields['seats'], plan, seats_in_use)
            if seats is None:
                return None
            cheaper = _cheaper(by_id.get(current[0]), current, plan, fields['interval'].value, seats)
            fields['when'].set_visibility(cheaper)
            return plan.id, fields['interval'].value, seats, fields['when'].value if cheaper else 'now'

        def describe(values: tuple) -> str:
            what = f'{names[values[0]]}, billed {Interval(values[1]).adjective}, for {plural(values[2], "seat")}'
            if values[3] == 'period_end':
                return f'From {long_date(subscription.current_period_end)} you will have {what}.'
            return f'You will have {what}.'

        fit_to_plan()
        fields['plan'].on_value_change(fit_to_plan)
        ChangeForm(
            dialog, fields, values=chosen, preview=preview, confirm=confirm,
            success=lambda values: (f'Your subscription changes on {long_date(subscription.current_period_end)}.'
                                    if values[3] == 'period_end' else 'Your subscription was changed.'),
            fallback='seats', unchanged=(*current, 'now'), describe=describe,
        )  # fmt: skip


def _cheaper(current_plan: Plan | None, current: tuple, plan: Plan, interval: str, seats: int) -> bool:
    """Whether the change costs less per month than the subscription now: a downgrade, which may wait."""
    if current_plan is None or Interval.of(current[1]) is None or Interval.of(interval) is None:
        return False
    if current[1] not in current_plan.prices or interval not in plan.prices:
        return False
    now = current_plan.price(current[1]) * current[2] / Interval(current[1]).months
    return plan.price(interval) * seats / Interval(interval).months < now


def _fit_to_plan(fields: dict, plan: Plan, plans: tuple[Plan, ...], seats_in_use: int) -> None:
    """Offer the plan's intervals, and move the seats into the plan's range."""
    interval = fields['interval'].value
    fields['interval'].set_options(
        _intervals(plan, plans), value=interval if interval in plan.prices else plan.intervals[0].value
    )
    low, most = plan.seat_range(seats_in_use)
    fields['seats'].props['hint'] = f'{plan.name}: {low:,} to {most:,} seats, {seats_in_use:,} in use'


def _seats_for(field: ui.number, plan: Plan, seats_in_use: int) -> int | None:
    """The seats typed, if the plan takes them; else a message at the field."""
    low, most = plan.seat_range(seats_in_use)
    seats = whole_in(field.value, low, most)
    if seats is None:
        typed = whole_in(field.value, -(10**9), 10**9)
        if low > most:
            field.error = f'{plan.name} allows at most {plural(most, "seat")}, and {seats_in_use:,} users are enabled.'
        elif typed is not None and typed > most:
            field.error = f'{plan.name} allows at most {plural(most, "seat")}.'
        elif typed is not None and typed < low:
            field.error = too_few_seats(plan, low, seats_in_use)
        else:
            field.error = f'Enter a whole number of seats, from {low:,} to {most:,}.'
    return seats


def _intervals(plan: Plan | None, plans: tuple[Plan, ...]) -> dict[str, str]:
    """The billing intervals the plan has a price for ("Monthly", "Yearly", …)."""
    intervals = plan.intervals if plan else plans[0].intervals
    return {interval.value: interval.label for interval in intervals}


def open_add_seats(
    *,
    current_seats: int,
    max_seats: int,
    currency: str,
    preview: Callable[[int], Awaitable['ChangePreview | None']],
    confirm: Callable[[int], Awaitable[object | None]],
) -> None:
    room = max_seats - current_seats
    with dialog_frame('Add seats') as dialog:
        have = f'You have {plural(current_seats, "seat")}; your plan allows up to {max_seats:,}.'
        ui.label(have).classes('text-grey-8')
        field = whole_field('Seats to add', value=1)
        fields = {'seats_to_add': field}

        def chosen() -> tuple[int] | None:
            seats = whole_in(field.value, 1, room)
            if seats is None:
                typed = whole_in(field.value, -(10**9), 10**9)
                if room <= 0 or (typed is not None and typed > room):
                    field.error = (f'Your plan allows at most {plural(max_seats, "seat")}: you can add up to '
                                   f'{max(room, 0):,}.')  # fmt: skip
                else:
                    field.error = 'Add at least 1 seat.' if typed is not None else 'Enter a whole number of seats.'
                return None
            return (seats,)

        ChangeForm(
            dialog,
            fields,
            values=chosen,
            preview=preview,
            confirm=confirm,
            success=lambda values: f'You now have {plural(current_seats + values[0], "seat")}.',
            fallback='seats_to_add',
            describe=lambda values: f'You will have {plural(current_seats + values[0], "seat")}.',
            currency=currency,
        )


class ChangeForm:
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
                show_charge(preview, self.currency)
            self.shown = values
            self.button.enable()

    async def _confirm(self) -> None:
        values = self.shown
        if values is None or not self.button.enabled:
            return
        success = self.success(values)
        awaiting: list = []

        async def confirm() -> object | None:
            result = await self.confirm(*values)
            if getattr(result, 'pending_change', ''):  # the bank asks for 3-D Secure first: the dialog says so
                awaiting.append(result)
                return None
            return result

        await submit(self.dialog, self.button, confirm, success=success, fields=self.fields, fallback=self.fallback)
        if awaiting and not self.dialog.is_deleted:
            self._awaiting_confirmation(awaiting[0])
        elif not self.dialog.is_deleted:
            self.button.set_enabled(self.shown is not None and self.dialog.value)

    def _awaiting_confirmation(self, subscription: 'SubscriptionMirror') -> None:
        amount = format_money(subscription.open_invoice_amount, subscription.open_invoice_currency or 'usd')
        self.button.set_visibility(False)
        self.note.text = 'Your bank asks you to confirm this payment.'
        self.note.set_visibility(True)
        self.charge.clear()
        with self.charge:
            ui.label(f'The change to {subscription.pending_change} applies once the payment of {amount} is '
                     'confirmed. Until then nothing changes.').mark('awaiting-confirmation')  # fmt: skip
            ui.button('Confirm payment', on_click=lambda: ui.navigate.to(subscription.payment_action_url)).props(
                'no-caps'
            )


def show_charge(preview: 'ChangePreview | ScheduledPreview', currency: str) -> None:
    if not hasattr(preview, 'due_today'):  # at the period's end: no charge today, the new price from then
        for number, line in enumerate(preview.lines):
            ui.label(line).classes('text-weight-medium' if number == 0 else '')
        _charged_to(preview.card)
        _warn(preview.warning)
        return
    currency = preview.currency or currency
    if preview.due_today > 0:
        ui.label(f'Charged today: {format_money(preview.due_today, currency)}').classes('text-weight-medium')
    elif preview.due_today < 0:
        ui.label(f'Credited today: {format_money(-preview.due_today, currency)}').classes('text-weight-medium')
    else:
        ui.label('Nothing is charged today.').classes('text-weight-medium')
    if preview.explanation:  # what an odd-looking amount is for: the time left in the period, new less old
        ui.label(preview.explanation).mark('proration-explanation')
    for line in preview.lines:
        ui.label(line).classes('text-caption text-grey-7')
    if preview.credit > 0:
        ui.label(
            f'A credit of {format_money(preview.credit, currency)} for the unused time goes to your balance; '
            'Stripe takes it off your next invoices.'
        )
    ui.label(f'Next invoice: {format_money(preview.next_amount, currency)} on {long_date(preview.next_date)}')
    _charged_to(preview.card)
    _warn(preview.warning)


def _charged_to(card: 'Card | None') -> None:
    text = f'Charged to {card_name(card)}.' if card else 'No card on file: add one in "Payment methods".'
    ui.label(text).mark('charged-card')


def _warn(warning: str | None) -> None:
    if warning:
        with ui.row().classes('w-full no-wrap items-start bg-orange-1 text-deep-orange-10 q-pa-sm rounded-borders'):
            ui.icon('warning')
            ui.label(warning)

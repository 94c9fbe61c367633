"""The first-time-purchase stepper: plan → billing interval and seats → review → checkout.

Each question has one step. The interval and the seats come after the plan, so that they can show that plan's
saving and seat range; the review only shows the answers.
"""

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.plan_card import PlanCards
from services.plans import Interval, Plan, format_money, saving
from services.words import plural

# On a phone, the three step names share one row (each wraps within its own third) and the cards get the full width.
NARROW_SCREEN_CSS = """
@media (max-width: 599.98px) {
    .plan-stepper .q-stepper__header { flex-wrap: nowrap; }
    .plan-stepper .q-stepper__tab { flex: 1 1 0; min-width: 0; padding: 16px 4px; }
    .plan-stepper .q-stepper__step-inner { padding: 16px 0; }
}
"""


class PlanChooser(ui.column):
    def __init__(
        self,
        plans: tuple[Plan, ...],
        *,
        seats_in_use: int,
        on_checkout: Callable[[str, str, int], Awaitable[None]],
    ) -> None:
        super().__init__()
        self.plans = {plan.id: plan for plan in plans}
        self.seats_in_use = seats_in_use
        self.on_checkout = on_checkout
        self.interval = Interval.MONTH.value
        self.seats = max(seats_in_use, 1)
        self.plan_id: str | None = None
        self.classes('w-full')
        ui.add_css(NARROW_SCREEN_CSS)
        with self:
            # Not animated: a click during the slide between steps could be lost on a loaded machine (seen once).
            with ui.stepper().props('flat alternative-labels').classes('w-full plan-stepper') as self.stepper:
                with ui.step('Plan'):
                    PlanCards(plans, on_select=self._select)
                with ui.step('Seats and billing interval'):
                    self.questions()
                    self.step_total()
                    with ui.stepper_navigation():
                        ui.button('Continue', on_click=self._review).props('no-caps')
                        ui.button('Back', on_click=self.stepper.previous).props('flat no-caps')
                with ui.step('Review'):
                    self.review()
                    with ui.stepper_navigation():
                        self.proceed = ui.button('Proceed to checkout', on_click=self._checkout).props('no-caps')
                        ui.button('Back', on_click=self.stepper.previous).props('flat no-caps')

    @property
    def plan(self) -> Plan | None:
        return self.plans.get(self.plan_id or '')

    @ui.refreshable_method
    def questions(self) -> None:
        plan = self.plan
        if plan is None:
            return
        with ui.row().classes('items-center gap-x-4 gap-y-1'):
            intervals = {interval.value: interval.label for interval in plan.intervals}  # "Monthly", "Yearly", …
            toggle = ui.toggle(intervals, value=self.interval, on_change=self._changed).props('no-caps')
            toggle.bind_value(self, 'interval')
            for interval in plan.intervals:
                if saved := saving(plan, interval):
                    ui.label(f'{interval.label}: {saved}').classes('text-positive text-weight-medium')
        floor, most = plan.seat_range(self.seats_in_use)
        seats = ui.number('Seats', value=self.seats, min=floor, step=1, precision=0, on_change=self._changed)
        seats.bind_value(self, 'seats', forward=lambda v: int(v or 0)).classes('w-48').mark('seats')
        seats.props(f'hint="{plan.name}: {floor:,} to {most:,} seats"')
        if self.seats_in_use > plan.min_seats:
            ui.label(f'At least {self.seats_in_use:,}: your enabled users.').classes('text-grey-7 text-caption')

    @ui.refreshable_method
    def step_total(self) -> None:
        plan = self.plan
        if plan:
            ui.label(f'{plan.name}: {self._total(plan)} for {plural(self.seats, "seat")} per {self.interval}').classes(
                'text-h6 q-mt-md'
            )
            self.seats_error = ui.label().classes('text-negative')

    @ui.refreshable_method
    def review(self) -> None:
        plan = self.plan
        if plan is None:
            return
        price = f'{format_money(plan.price(self.interval), plan.currency)} / {self.interval}'
        if saved := saving(plan, self.interval):
            price = f'{price} ({saved})'
        with ui.grid(columns='auto 1fr').classes('gap-x-8 gap-y-1'):
            for caption, value in (
                ('Plan', plan.name),
                ('Billing interval', Interval(self.interval).label),
                ('Seats', f'{self.seats:,}'),
                ('Price per seat', price),
                (f'Total per {self.interval}', self._total(plan)),
            ):
                ui.label(caption).classes('text-grey-7')
                ui.label(value).classes('text-weight-medium')
        ui.label('You pay on the secure checkout page next. Nothing is charged before you confirm there.').classes(
            'text-grey-8 q-mt-sm'
        )
        self.review_error = ui.label().classes('text-negative')

    def _changed(self) -> None:
        self.step_total.refresh()
        self.review.refresh()

    def _total(self, plan: Plan) -> str:
        return format_money(plan.price(self.interval) * max(self.seats, 0), plan.currency)

    def _select(self, plan_id: str) -> None:
        self.plan_id = plan_id
        plan = self.plan
        if Interval.of(self.interval) not in plan.prices:
            self.interval = Interval.MONTH.value
        self.seats = max(self.seats, plan.seat_range(self.seats_in_use)[0])
        self.questions.refresh()
        self._changed()
        self.stepper.next()

    def _review(self) -> None:
        plan = self.plan
        floor, most = plan.seat_range(self.seats_in_use)
        if not floor <= self.seats <= most:
            self.seats_error.text = f'{plan.name} takes {floor:,} to {most:,} seats.'
            return
        self.review.refresh()
        self.stepper.next()

    async def _checkout(self) -> None:
        self.proceed.disable()  # one click, one checkout; the idempotency key covers a double submit too
        try:
            await self.on_checkout(self.plan_id, self.interval, self.seats)
        finally:
            self.proceed.enable()

    def show_errors(self, errors: dict[str, str]) -> None:
        self.review_error.text = ' '.join(errors.values())

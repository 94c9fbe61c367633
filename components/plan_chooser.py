"""The plan cards and the first-time-purchase stepper: plan → seats and interval → review → checkout."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from services.plans import Interval, Plan, format_money


class PlanChooser(ui.column):
    def __init__(
        self,
        plans: tuple[Plan, ...],
        *,
        intervals: tuple[Interval, ...],
        seats_in_use: int,
        on_checkout: Callable[[str, str, int], Awaitable[None]],
    ) -> None:
        super().__init__()
        self.plans = {plan.id: plan for plan in plans}
        self.intervals = {interval.value: interval.label for interval in intervals}  # "Monthly", "Yearly", …
        self.seats_in_use = seats_in_use
        self.on_checkout = on_checkout
        self.interval = 'month'
        self.seats = max(seats_in_use, 1)
        self.plan_id: str | None = None
        self.classes('w-full')
        with self:
            # Not animated: a click during the slide between steps could be lost on a loaded machine (seen once).
            with ui.stepper().props('flat').classes('w-full') as self.stepper:
                with ui.step('Plan'):
                    self._controls()
                    self.cards()
                with ui.step('Seats and billing interval'):
                    self._controls()
                    self.step_total()
                    with ui.stepper_navigation():
                        ui.button('Continue', on_click=self._review).props('no-caps')
                        ui.button('Back', on_click=self.stepper.previous).props('flat no-caps')
                with ui.step('Review'):
                    self.review()
                    with ui.stepper_navigation():
                        self.proceed = ui.button('Proceed to checkout', on_click=self._checkout).props('no-caps')
                        ui.button('Back', on_click=self.stepper.previous).props('flat no-caps')

    def _controls(self) -> None:
        with ui.row().classes('items-start gap-6'):
            ui.toggle(self.intervals, on_change=self._changed).bind_value(self, 'interval').props('no-caps')
            seats = ui.number('Seats', min=max(self.seats_in_use, 1), step=1, precision=0, on_change=self._changed)
            seats.bind_value(self, 'seats', forward=lambda v: int(v or 0)).classes('w-32').mark('seats')
            seats.props(f'hint="At least {max(self.seats_in_use, 1)}: your enabled users"')

    def _changed(self) -> None:
        self.cards.refresh()
        self.step_total.refresh()
        self.review.refresh()

    @ui.refreshable_method
    def cards(self) -> None:
        with ui.row().classes('w-full items-stretch q-mt-md'):
            for plan in self.plans.values():
                with ui.card().classes('w-72 q-pa-md').props(f'aria-label="{plan.name}"'):
                    ui.label(plan.name).classes('text-h6')
                    ui.label(plan.description).classes('text-grey-8')
                    offered = self.interval in plan.prices
                    if offered:
                        price = format_money(plan.price(self.interval), plan.currency)
                        ui.label(f'{price} per seat / {self.interval}').classes('text-h6 text-primary')
                    else:
                        ui.label(f'Not billed {Interval(self.interval).adjective}').classes('text-h6 text-grey-7')
                    for feature in plan.features:
                        with ui.row().classes('items-center no-wrap gap-1'):
                            ui.icon('check', color='positive')
                            ui.label(feature)
                    if plan.token_pack:
                        pack = format_money(plan.token_pack.price, plan.currency)
                        ui.label(f'Token packs: {plan.token_pack.size:,} tokens for {pack}').classes('text-grey-8')
                    if offered:
                        ui.label(f'{self._total(plan)} for {self.seats} seats per {self.interval}').classes(
                            'text-weight-medium'
                        )
                    ui.space()
                    select = ui.button(f'Select {plan.name}', on_click=lambda plan=plan: self._select(plan.id))
                    select.props(f'aria-label="Select {plan.name}" no-caps').classes('w-full').set_enabled(offered)

    @ui.refreshable_method
    def step_total(self) -> None:
        plan = self.plans.get(self.plan_id or '')
        if plan:
            ui.label(f'{plan.name}: {self._total(plan)} per {self.interval} for {self.seats} seats').classes(
                'text-h6 q-mt-md'
            )
            self.seats_error = ui.label().classes('text-negative')

    @ui.refreshable_method
    def review(self) -> None:
        plan = self.plans.get(self.plan_id or '')
        if plan is None:
            return
        with ui.grid(columns='12rem 1fr').classes('gap-y-1'):
            for caption, value in (
                ('Plan', plan.name),
                ('Billing interval', self.intervals[self.interval]),
                ('Seats', str(self.seats)),
                ('Price per seat', f'{format_money(plan.price(self.interval), plan.currency)} / {self.interval}'),
                (f'Total per {self.interval}', self._total(plan)),
            ):
                ui.label(caption).classes('text-grey-7')
                ui.label(value).classes('text-weight-medium')
        ui.label('You pay on the secure checkout page next. Nothing is charged before you confirm there.').classes(
            'text-grey-8 q-mt-sm'
        )
        self.review_error = ui.label().classes('text-negative')

    def _total(self, plan: Plan) -> str:
        if self.interval not in plan.prices:
            return '—'
        return format_money(plan.price(self.interval) * max(self.seats, 0), plan.currency)

    def _select(self, plan_id: str) -> None:
        self.plan_id = plan_id
        self._changed()
        self.stepper.next()

    def _review(self) -> None:
        plan = self.plans[self.plan_id]
        floor, most = plan.seat_range(self.seats_in_use)
        if not floor <= self.seats <= most:
            self.seats_error.text = f'{plan.name} takes {floor} to {most} seats.'
            return
        if self.interval not in plan.prices:
            self.seats_error.text = f'{plan.name} is not billed {Interval(self.interval).adjective}.'
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

"""The plan cards of "Choose subscription": each plan's prices per seat and their saving, its features, the button."""

from collections.abc import Callable

from nicegui import ui

from services.plans import Interval, Plan, format_money, saving

# Name, description, prices, features, button: cards side by side share these rows (a CSS subgrid), so each row
# is as tall as its tallest card and the prices start at the same height whatever the descriptions' length.
CARD_ROWS = 5


class PlanCards(ui.grid):
    def __init__(self, plans: tuple[Plan, ...], *, on_select: Callable[[str], None]) -> None:
        super().__init__()
        self.classes('w-full gap-4').style('grid-template-columns: repeat(auto-fill, minmax(min(100%, 16rem), 1fr))')
        with self:
            for plan in plans:
                self._card(plan, on_select=lambda plan=plan: on_select(plan.id))

    @staticmethod
    def _card(plan: Plan, *, on_select: Callable[[], None]) -> None:
        with ui.card().props(f'role="group" aria-label="{plan.name}"').classes('q-pa-md') as card:
            card.style(f'display: grid; grid-row: span {CARD_ROWS}; grid-template-rows: subgrid; row-gap: 0.75rem')
            ui.label(plan.name).classes('text-h6').props('role=heading aria-level=2')
            ui.label(plan.description).classes('text-grey-8')
            with ui.column().classes('gap-1'):
                for interval in plan.intervals:
                    _price(plan, interval)
            with ui.column().classes('gap-2'):
                for feature in plan.features:
                    with ui.row().classes('items-center no-wrap gap-1'):
                        ui.icon('check', color='positive')
                        ui.label(feature)
                if plan.token_pack:
                    pack = format_money(plan.token_pack.price, plan.currency)
                    ui.label(f'Token packs: {plan.token_pack.size:,} tokens for {pack}').classes('text-grey-8')
            select = ui.button(f'Select {plan.name}', on_click=on_select).classes('w-full self-end')
            select.props(f'aria-label="Select {plan.name}" no-caps')


def _price(plan: Plan, interval: Interval) -> None:
    text = f'{format_money(plan.price(interval), plan.currency)} per seat / {interval.value}'
    if interval is Interval.MONTH:
        ui.label(text).classes('text-h6 text-primary')
        return
    ui.label(f'or {text}').classes('text-subtitle1 text-primary')
    if saved := saving(plan, interval):
        ui.badge(saved, color='positive').classes('text-body2')

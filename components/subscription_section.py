"""The "Subscription" section: plan, status, seats, renewal and tokens, from the local mirror of Stripe.

A trial organization sees its trial and "Choose subscription"; a subscribed one sees the cogwheel menu
("Subscription settings"). The section does no I/O: it calls the actions it is given.
"""

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from nicegui import ui

from components.subscription_notes import paused_note, scheduled_note
from services.billing.mirror import OWING, comparable, ends_or_renews_on
from services.billing.subscriptions import BillingOverview
from services.moments import long_date
from services.plans import format_money
from services.words import plural

STATUS_LABELS = {
    # Each colour keeps white text at 4.5:1 or more (WCAG AA).
    'active': ('Active', 'positive'),
    'trialing': ('Trialing', 'blue-9'),
    'past_due': ('Past due', 'deep-orange-10'),
    'unpaid': ('Unpaid', 'negative'),
    'canceled': ('Canceled', 'grey-8'),
    'incomplete': ('Incomplete', 'deep-orange-10'),
    'incomplete_expired': ('Expired', 'grey-8'),
    'paused': ('Paused', 'grey-8'),
}


@dataclass(frozen=True)
class MenuEntry:
    label: str
    on_click: Callable[[], object]


@dataclass
class SubscriptionActions:
    choose: Callable[[], None]
    resync: Callable[[], Awaitable[list[str] | None]]
    # Entries of the cogwheel menu and of the current subscription's sub-menu, added by the billing pages.
    menu: list[MenuEntry] = field(default_factory=list)
    subscription_menu: Callable[[BillingOverview], list[MenuEntry]] = lambda overview: []
    add_seats: Callable[[], object] | None = None
    add_tokens: Callable[[], object] | None = None
    token_history: Callable[[], object] | None = None
    low_balance_alert: Callable[[], object] | None = None
    auto_top_up: Callable[[], object] | None = None
    # The failed-payment banner's buttons: "Pay now" and "Update payment method".
    pay_now: Callable[[], object] | None = None
    update_payment_method: Callable[[], object] | None = None
    # Told the overview at each render, so the dialogs open with what the section shows.
    remember: Callable[[BillingOverview], None] = lambda overview: None


class SubscriptionSection(ui.card):
    def __init__(self, overview: BillingOverview, actions: SubscriptionActions) -> None:
        super().__init__()
        self.overview = overview
        self.actions = actions
        self.classes('w-full').props('aria-label="Subscription"')
        with self:
            self.content()

    def show(self, overview: BillingOverview) -> None:
        """Show a newer overview; rebuilding only when what is shown changed keeps an open menu open."""
        changed = _shown(overview) != _shown(self.overview)
        self.overview = overview
        if changed:  # rebuilt in place (a `ui.refreshable` is one more Vue component to load with the page)
            self.clear()
            with self:
                self.content()

    def show_seats(self, used: int) -> None:
        """The enabled users changed: "N of M used" alone, without reading the mirror again or rebuilding."""
        if used == self.overview.seats_used:
            return
        self.overview = replace(self.overview, seats_used=used)
        self.actions.remember(self.overview)
        self.seats.text = _seats_text(self.overview)

    def content(self) -> None:
        overview = self.overview
        self.actions.remember(overview)
        subscription = overview.subscription
        with ui.row().classes('w-full items-center'):
            ui.label('Subscription').classes('text-h6').props('role=heading aria-level=2')
            ui.space()
            if overview.subscribed:
                self._cogwheel()
        if overview.owes:
            self._payment_failed()
        if subscription is not None and subscription.status == 'paused':
            paused_note(overview)
        if overview.subscribed and subscription.scheduled_at:
            scheduled_note(overview)
        if overview.cancellation_scheduled:
            with ui.row().classes(
                'w-full items-center no-wrap bg-orange-1 text-deep-orange-10 q-pa-sm rounded-borders'
            ):
                ui.icon('event_busy')
                ui.label(f'Your subscription is cancelled and ends on {long_date(ends_or_renews_on(subscription))}. '
                         'Until then everything keeps working.')  # fmt: skip
        with ui.grid(columns='10rem 1fr').classes('field-grid gap-y-2 items-center'):
            if overview.subscribed:
                self._subscribed_fields()
            else:
                self._trial_fields()

    def _payment_failed(self) -> None:
        """What failed (or waits for 3-D Secure), the amount, Stripe's next attempt, and the ways out."""
        overview, subscription = self.overview, self.overview.subscription
        amount = format_money(subscription.open_invoice_amount, subscription.open_invoice_currency or 'usd')
        action, owing = subscription.payment_action_url, subscription.status in OWING
        if subscription.next_payment_attempt:
            retry = f'Stripe tries again on {long_date(subscription.next_payment_attempt)}.'
        else:
            retry = 'Stripe will not try again.'
        if overview.grace_ends_at:
            consequence = f'Everything keeps working until {long_date(overview.grace_ends_at)}.'
        else:
            consequence = 'Your users cannot use the product until it is paid.'
        if action and not owing:  # a change held back until its payment is confirmed
            headline = f'Your bank asks you to confirm the payment of {amount}.'
            detail = f'The change to {subscription.pending_change} applies once it is confirmed.'
        elif not owing:  # its payment was not confirmed: the change waits (Stripe drops it after 23 hours)
            headline = f'The payment of {amount} for the change to {subscription.pending_change} did not go through.'
            detail = f'{subscription.payment_error} Nothing has changed: "Pay now" tries again.'.strip()
        elif action:
            headline, detail = (
                f'The payment of {amount} needs your confirmation (3-D Secure).',
                f'{retry} {consequence}',
            )
        else:
            headline = f'The payment of {amount} failed. {subscription.payment_error}'.strip()
            detail = f'{retry} {consequence}'
        banner = ui.column().classes('w-full gap-1 bg-red-1 text-red-10 q-pa-sm rounded-borders')
        with banner.props('role=alert').mark('payment-failed'):
            with ui.row().classes('items-center no-wrap'):
                ui.icon('error_outline')
                ui.label(headline).classes('text-weight-medium')
            ui.label(detail)
            with ui.row().classes('gap-2'):
                if action:
                    ui.button('Confirm payment', on_click=lambda: ui.navigate.to(action)).props(
                        'no-caps color=negative'
                    )
                elif self.actions.pay_now:
                    ui.button('Pay now', on_click=self._pay_now).props('no-caps color=negative')
                if owing and self.actions.update_payment_method:
                    ui.button('Update payment method', on_click=self.actions.update_payment_method).props(
                        'no-caps outline color=negative'
                    )

    async def _pay_now(self, event) -> None:
        button = event.sender
        if not button.enabled:
            return  # a second click while the first pays
        button.disable()
        try:
            await _called(self.actions.pay_now)
        finally:
            if not button.is_deleted:  # a live update usually replaces the banner first
                button.enable()

    def _subscribed_fields(self) -> None:
        overview, subscription = self.overview, self.overview.subscription
        ui.label('Plan').classes('text-grey-7')
        ui.label(overview.plan.name if overview.plan else subscription.plan_id).mark('subscription-plan')
        ui.label('Status').classes('text-grey-7')
        text, color = STATUS_LABELS.get(subscription.status, (subscription.status.title(), 'grey'))
        if overview.cancellation_scheduled:  # not a green "Active" for a subscription about to end
            text, color = f'Cancels on {long_date(ends_or_renews_on(subscription))}', 'deep-orange-10'
        with ui.row():
            ui.badge(text, color=color).classes('text-body2 q-px-sm').props('multi-line').mark('subscription-status')
        self._seats_field()
        if subscription.status == 'paused':
            ui.label('Resumes on').classes('text-grey-7')
            ui.label(long_date(subscription.pause_resumes_at) if subscription.pause_resumes_at
                     else 'When an admin resumes it').mark('subscription-renewal')  # fmt: skip
        else:
            ui.label('Ends on' if overview.cancellation_scheduled else 'Renews on').classes('text-grey-7')
            ui.label(long_date(ends_or_renews_on(subscription))).mark('subscription-renewal')
        if overview.plan and overview.plan.uses_tokens:
            ui.label('Tokens').classes('text-grey-7')
            with ui.row().classes('items-center'):
                balance = ui.label(f'{overview.token_balance:,}').mark('subscription-tokens')
                if overview.token_balance < 0:  # tokens already spent, then refunded or lost in a dispute
                    balance.classes('text-negative text-weight-bold')
                    ui.label(
                        'below zero: refunded or disputed tokens were already used. New tokens cover this first.'
                    ).classes('text-negative text-caption').mark('tokens-below-zero')
                if self.actions.add_tokens:
                    ui.button('+ Add tokens', on_click=self.actions.add_tokens).props('flat dense no-caps')
                if self.actions.token_history:
                    ui.button('Token history', on_click=self.actions.token_history).props('flat dense no-caps')
                if self.actions.low_balance_alert:
                    ui.button('Alert me below', on_click=self.actions.low_balance_alert).props('flat dense no-caps')
                if self.actions.auto_top_up:
                    ui.button('Auto top-up', on_click=self.actions.auto_top_up).props('flat dense no-caps')
            if overview.low_balance_threshold:
                ui.element('div')
                ui.label(
                    f'You get an email when fewer than {overview.low_balance_threshold:,} tokens are left.'
                ).classes('text-grey-7 text-caption').mark('low-balance-alert')
            if (auto := overview.auto_top_up) and auto.line:  # its settings, or why it buys nothing now
                ui.element('div')
                color = 'text-negative' if auto.error else 'text-deep-orange-10' if auto.at_cap else 'text-grey-7'
                ui.label(auto.line).classes(f'{color} text-caption').mark('auto-top-up')

    def _trial_fields(self) -> None:
        overview = self.overview
        ui.label('Plan').classes('text-grey-7')
        days = overview.trial_days_left
        ui.label(f'Trial: {plural(days, "day")} left' if days else 'Trial ended').mark('trial')
        if overview.subscription and overview.subscription.status == 'canceled':
            ui.label('Status').classes('text-grey-7')
            ui.label(f'Your {overview.plan.name if overview.plan else ""} subscription has ended.'.replace('  ', ' '))
        self._seats_field()
        ui.element('div')
        with ui.row().classes('items-center'):
            if not days:  # the product no longer serves the organization: its admins still can subscribe here
                ui.label(f'Your trial ended on {long_date(overview.trial_end)}.').classes('text-negative')
            if not overview.owes:  # an unpaid subscription is paid above, not replaced by a second one
                ui.button('Choose subscription', on_click=self.actions.choose).props('no-caps')

    def _seats_field(self) -> None:
        overview = self.overview
        ui.label('Seats').classes('text-grey-7')
        with ui.row().classes('items-center'):
            self.seats = ui.label(_seats_text(overview)).mark('subscription-seats')
            if overview.subscribed and self.actions.add_seats:
                ui.button('+ Add seats', on_click=self.actions.add_seats).props('flat dense no-caps')

    def _cogwheel(self) -> None:
        overview = self.overview
        with ui.button(icon='settings').props('flat round aria-label="Subscription settings"'):
            # To the cogwheel's left, never over the menu below it, none while the menu is open, and none on a touch
            # screen, whose hover before a tap would show it over the menu (CSS `hover-only` in components/frame.py).
            tip = ui.tooltip('Subscription settings').props('anchor="center left" self="center right"')
            tip.classes('hover-only')
            with ui.menu() as outer:
                for entry in self.actions.menu:
                    _menu_item(entry.label, _closing(outer, entry.on_click))
                name = overview.plan.name if overview.plan else overview.subscription.plan_id
                entries = self.actions.subscription_menu(overview)
                with _menu_item(name, None).props('aria-haspopup=menu'):
                    with ui.item_section().props('side'):
                        ui.icon('keyboard_arrow_right')
                    with ui.menu().props('anchor="top end" self="top start"').classes('text-no-wrap'):
                        for entry in entries:
                            # Choosing in the sub-menu closes the whole menu, so it does not stay over the dialog.
                            _menu_item(entry.label, _closing(outer, entry.on_click))
                ui.separator()
                _menu_item('Resync with Stripe', _closing(outer, self._resync))
            outer.on('before-show', lambda: (tip.props('disable'), tip.run_method('hide')))
            outer.on('hide', lambda: tip.props(remove='disable'))

    async def _resync(self) -> None:
        differences = await self.actions.resync()
        if differences is not None:
            message = 'Resynced with Stripe: ' + '; '.join(differences) if differences else 'Already in sync.'
            ui.notify(message, type='positive', multi_line=True)


def _menu_item(label: str, on_click: Callable | None) -> ui.menu_item:
    item = ui.menu_item(label, on_click=on_click, auto_close=on_click is not None)
    item.props('role=menuitem')  # inside role=menu, so screen readers announce menu items
    return item


def _closing(menu: ui.menu, action: Callable[[], object]) -> Callable:
    async def choose() -> None:
        menu.close()
        await _called(action)

    return choose


async def _called(action: Callable[[], object]) -> None:
    result = action()
    if inspect.isawaitable(result):
        await result


def _seats_text(overview: BillingOverview) -> str:
    return f'{overview.seats_used:,} of {overview.seat_limit:,} used'


def _shown(overview: BillingOverview) -> tuple:
    subscription = overview.subscription
    owed = (subscription.pause_resumes_at, subscription.schedule_id, subscription.scheduled_at,
            subscription.scheduled_plan_id, subscription.scheduled_seats, subscription.open_invoice_id,
            subscription.open_invoice_amount, subscription.next_payment_attempt, subscription.payment_error,
            subscription.payment_action_url, subscription.pending_change,
            overview.grace_ends_at) if subscription else ()  # fmt: skip
    return (tuple(comparable(subscription).items()), owed, overview.token_balance, overview.seats_used,
            overview.seat_limit, overview.trial_days_left, overview.low_balance_threshold,
            overview.auto_top_up)  # fmt: skip

"""The billing actions of the portal: what the Subscription section's buttons and cogwheel menu open and do."""

import uuid

from nicegui import ui

from components import billing_dialogs as dialogs
from components.auto_top_up_dialog import open_auto_top_up
from components.card_dialogs import open_payment_methods
from components.change_dialogs import open_add_seats, open_edit_subscription
from components.lifecycle_dialogs import (
    open_cancel_scheduled_change,
    open_pause_subscription,
    open_resume_subscription,
)
from components.subscription_section import MenuEntry, SubscriptionActions
from services.billing.mirror import ends_or_renews_on, is_live
from services.billing.subscriptions import BillingOverview
from services.caller import Caller
from services.plans import Catalog, format_money
from services.words import plural


def subscription_actions(catalog: Catalog, portal: Caller) -> SubscriptionActions:
    """The Subscription section's actions, for a page whose caller-bound services are `portal`."""
    actions = BillingActions(catalog, portal)
    return SubscriptionActions(
        choose=lambda: ui.navigate.to('/admin/subscriptions'),
        resync=portal.resync.resync,
        menu=[MenuEntry('Payment methods', actions.payment_methods), MenuEntry('Billing history', actions.history)],
        subscription_menu=actions.subscription_menu,
        add_seats=actions.add_seats,
        add_tokens=actions.add_tokens,
        token_history=actions.token_history,
        low_balance_alert=actions.low_balance_alert,
        auto_top_up=actions.auto_top_up,
        pay_now=actions.pay_now,
        update_payment_method=actions.update_payment_method,
        remember=actions.remember,
    )


class BillingActions:
    """Each method opens one dialog with the overview the section shows now; every call re-checks the caller."""

    def __init__(self, catalog: Catalog, portal: Caller) -> None:
        self.catalog = catalog
        self.portal = portal
        self.overview: BillingOverview | None = None

    def remember(self, overview: BillingOverview) -> None:
        self.overview = overview

    def payment_methods(self, *, owed: str | None = None) -> None:
        cards = self.portal.payment_methods
        open_payment_methods(
            load=cards.cards,
            add=(lambda: cards.add(as_default=True)) if owed else cards.add,
            update=lambda card_id, values: cards.update(card_id=card_id, values=values),
            make_default=lambda card_id: cards.make_default(card_id=card_id),
            remove=lambda card_id: cards.remove(card_id=card_id),
            owed=owed,
            pay_now=self.pay_now if owed else None,
            renewing=self.overview is not None
            and is_live(self.overview.subscription)
            and not self.overview.cancellation_scheduled,
        )

    async def pay_now(self) -> bool:
        """Pay the failed invoice with the default card; a decline is told in the page's words (a toast)."""
        client = ui.context.client
        paid = await self.portal.recovery.pay_now()
        if paid is None:
            return False
        with client:
            ui.notify(f'{paid} paid. Thank you!', type='positive')
        return True

    def update_payment_method(self) -> None:
        """The Payment methods dialog, to choose or add the card that pays what is owed, then "Pay now"."""
        subscription = self.overview.subscription
        self.payment_methods(owed=format_money(subscription.open_invoice_amount,
                                               subscription.open_invoice_currency or 'usd'))  # fmt: skip

    def history(self) -> None:
        dialogs.open_billing_history(load=lambda after: self.portal.invoices.page(starting_after=after))

    def subscription_menu(self, current: BillingOverview) -> list[MenuEntry]:
        subscription = current.subscription
        if subscription.status == 'paused':
            return [MenuEntry('Resume subscription', self.resume)]
        entries = [MenuEntry('Edit subscription', self.edit)]
        if subscription.scheduled_at:
            entries.append(MenuEntry('Cancel scheduled change', self.cancel_scheduled_change))
        if current.cancellation_scheduled:
            entries.append(MenuEntry('Remove scheduled cancellation', self.remove_cancellation))
        else:
            entries.append(MenuEntry('Cancel subscription', self.cancel))
        if subscription.status == 'active' and not current.cancellation_scheduled:
            entries.append(MenuEntry('Pause subscription', self.pause))
        return entries

    def edit(self) -> None:
        subscriptions, schedules = self.portal.subscriptions, self.portal.schedules

        def preview(plan_id: str, interval: str, seats: int, when: str):
            ask = schedules.preview if when == 'period_end' else subscriptions.preview_change
            return ask(plan_id=plan_id, interval=interval, seats=seats)

        def confirm(plan_id: str, interval: str, seats: int, when: str):
            act = schedules.schedule if when == 'period_end' else subscriptions.apply_change
            return act(plan_id=plan_id, interval=interval, seats=seats)

        open_edit_subscription(plans=self.catalog.plans, subscription=self.overview.subscription,
                               seats_in_use=self.overview.seats_used, preview=preview, confirm=confirm)  # fmt: skip

    def pause(self) -> None:
        open_pause_subscription(plan_name=self._plan_name(), interval=self.overview.subscription.interval,
                                confirm=lambda periods: self.portal.pausing.pause(periods=periods))  # fmt: skip

    def resume(self) -> None:
        open_resume_subscription(plan_name=self._plan_name(), confirm=self.portal.pausing.resume)

    def cancel_scheduled_change(self) -> None:
        current, subscription = self.overview, self.overview.subscription
        scheduled = current.scheduled_plan.name if current.scheduled_plan else subscription.scheduled_plan_id
        change = f'{scheduled}, {plural(subscription.scheduled_seats or 0, "seat")}'
        kept = f'{self._plan_name()}, {plural(subscription.seats, "seat")}'
        open_cancel_scheduled_change(change=change, on=subscription.scheduled_at, current=kept,
                                     confirm=self.portal.schedules.cancel)  # fmt: skip

    def cancel(self) -> None:
        current = self.overview
        dialogs.open_cancel_subscription(
            plan_name=self._plan_name(), ends_on=current.subscription.current_period_end,
            confirm=lambda reason: self.portal.subscriptions.cancel(reason=reason), seats_used=current.seats_used,
            trial_seats=current.trial_seats, tokens=current.token_balance,
        )  # fmt: skip

    def remove_cancellation(self) -> None:
        dialogs.open_remove_cancellation(
            plan_name=self._plan_name(), ends_on=ends_or_renews_on(self.overview.subscription),
            confirm=self.portal.subscriptions.remove_cancellation,
        )  # fmt: skip

    def add_seats(self) -> None:
        current = self.overview
        if not current.subscribed:
            ui.navigate.to('/admin/subscriptions')  # a trial buys its seats with its first subscription
            return
        seats = current.subscription.seats  # what the admin sees: a second click of the same request is a no-op
        subscriptions = self.portal.subscriptions
        open_add_seats(
            current_seats=seats, max_seats=current.plan.max_seats if current.plan else seats,
            currency=current.plan.currency if current.plan else 'usd',
            preview=lambda count: subscriptions.preview_add_seats(seats_to_add=count, from_seats=seats),
            confirm=lambda count: subscriptions.add_seats(seats_to_add=count, from_seats=seats),
        )  # fmt: skip

    async def add_tokens(self) -> None:
        client = ui.context.client  # now: a live update during the query may re-render the button's section
        tokens = self.portal.tokens
        offer = await tokens.offer()  # the pack, and the default card it can charge at once
        if offer is None:
            return
        request = uuid.uuid4().hex  # this dialog's purchase: a double click or a retry of it pays once
        with client:
            dialogs.open_add_tokens(
                offer=offer, checkout=lambda packs: tokens.start_checkout(packs=packs),
                pay_now=lambda packs: tokens.buy_with_default_card(packs=packs, request=request),
            )  # fmt: skip

    async def token_history(self) -> None:
        client = ui.context.client  # now: a live update during the queries may re-render the button's section
        entries, daily_use = await self.portal.tokens.history(), await self.portal.usage.daily_use()
        if entries is not None and daily_use is not None:
            with client:
                dialogs.open_token_history(entries=entries, daily_use=daily_use)

    def low_balance_alert(self) -> None:
        dialogs.open_low_balance_alert(
            threshold=self.overview.low_balance_threshold,
            save=lambda threshold: self.portal.usage.set_alert(threshold=threshold),
        )

    async def auto_top_up(self) -> None:
        client = ui.context.client  # now: a live update during the query may re-render the button's section
        service = self.portal.auto_top_up
        offer = await service.offer()
        if offer is not None:
            with client:
                open_auto_top_up(
                    offer=offer, turn_off=service.turn_off,
                    save=lambda below, packs, cap: service.save(below=below, packs=packs, monthly_cap=cap),
                )  # fmt: skip

    def _plan_name(self) -> str:
        return self.overview.plan.name if self.overview.plan else self.overview.subscription.plan_id

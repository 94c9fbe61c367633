"""The billing actions of the portal: what the Subscription section's buttons and cogwheel menu open and do."""

from nicegui import ui

from components import billing_dialogs as dialogs
from components.subscription_section import MenuEntry, SubscriptionActions
from services.billing import BillingOverview
from services.container import Services


def subscription_actions(services: Services, act) -> SubscriptionActions:
    """`act(lambda session: ...)` runs a service call with the caller's current session (see pages/admin.py).

    The dialogs get the overview the section shows now; every service call re-checks the caller and the rules.
    """
    billing, manager = services.billing, services.manager
    state: dict[str, BillingOverview] = {}

    def overview() -> BillingOverview:
        return state['overview']

    def payment_methods() -> None:
        dialogs.open_payment_methods(
            load=lambda: act(lambda session: manager.payment_methods(session=session)),
            add=lambda: act(lambda session: manager.add_payment_method(session=session)),
            update=lambda card_id, values: act(
                lambda session: manager.update_payment_method(session=session, card_id=card_id, values=values)
            ),
            make_default=lambda card_id: act(lambda session: manager.make_default(session=session, card_id=card_id)),
            remove=lambda card_id: act(
                lambda session: _done(manager.remove_payment_method(session=session, card_id=card_id))
            ),
        )

    def billing_history() -> None:
        dialogs.open_billing_history(
            load=lambda after: act(lambda session: manager.invoices(session=session, starting_after=after))
        )

    def edit_subscription() -> None:
        subscription = overview().subscription
        dialogs.open_edit_subscription(
            plans=billing.catalog.plans,
            current_plan_id=subscription.plan_id,
            current_interval=subscription.interval,
            current_seats=subscription.seats,
            seats_in_use=overview().seats_used,
            preview=lambda plan_id, interval, seats: act(
                lambda session: manager.preview_change(session=session, plan_id=plan_id, interval=interval, seats=seats)
            ),
            confirm=lambda plan_id, interval, seats: act(
                lambda session: manager.apply_change(session=session, plan_id=plan_id, interval=interval, seats=seats)
            ),
        )

    def cancel_subscription() -> None:
        subscription = overview().subscription
        dialogs.open_cancel_subscription(
            plan_name=_plan_name(overview()),
            ends_on=subscription.current_period_end,
            confirm=lambda reason: act(lambda session: manager.cancel(session=session, reason=reason)),
        )

    def remove_cancellation() -> None:
        subscription = overview().subscription
        dialogs.open_remove_cancellation(
            plan_name=_plan_name(overview()),
            ends_on=subscription.cancel_at or subscription.current_period_end,
            confirm=lambda: act(lambda session: manager.remove_cancellation(session=session)),
        )

    def add_seats() -> None:
        current = overview()
        if not current.subscribed:
            ui.navigate.to('/admin/subscriptions')  # a trial buys its seats with its first subscription
            return
        seats = current.subscription.seats  # what the admin sees: a second click of the same request is a no-op
        dialogs.open_add_seats(
            current_seats=seats,
            max_seats=current.plan.max_seats if current.plan else seats,
            currency=current.plan.currency if current.plan else 'usd',
            preview=lambda count: act(
                lambda session: manager.preview_add_seats(session=session, seats_to_add=count, from_seats=seats)
            ),
            confirm=lambda count: act(
                lambda session: manager.add_seats(session=session, seats_to_add=count, from_seats=seats)
            ),
        )

    def add_tokens() -> None:
        plan = overview().plan
        dialogs.open_add_tokens(
            pack_size=plan.token_pack.size,
            pack_price=plan.token_pack.price,
            currency=plan.currency,
            checkout=lambda packs: act(lambda session: manager.start_token_checkout(session=session, packs=packs)),
        )

    async def token_history() -> None:
        entries = await act(lambda session: manager.token_history(session=session))
        if entries is not None:
            dialogs.open_token_history(entries=entries)

    def subscription_menu(current: BillingOverview) -> list[MenuEntry]:
        subscription = current.subscription
        scheduled = subscription is not None and (subscription.cancel_at_period_end or subscription.cancel_at)
        entries = [MenuEntry('Edit subscription', edit_subscription)]
        if scheduled:
            entries.append(MenuEntry('Remove scheduled cancellation', remove_cancellation))
        else:
            entries.append(MenuEntry('Cancel subscription', cancel_subscription))
        return entries

    def remember(current: BillingOverview) -> None:
        state['overview'] = current

    return SubscriptionActions(
        choose=lambda: ui.navigate.to('/admin/subscriptions'),
        resync=lambda: act(lambda session: billing.resync(session=session)),
        menu=[MenuEntry('Payment methods', payment_methods), MenuEntry('Billing history', billing_history)],
        subscription_menu=subscription_menu,
        add_seats=add_seats,
        add_tokens=add_tokens,
        token_history=token_history,
        remember=remember,
    )


def _plan_name(overview: BillingOverview) -> str:
    return overview.plan.name if overview.plan else overview.subscription.plan_id


async def _done(action) -> bool:
    await action
    return True

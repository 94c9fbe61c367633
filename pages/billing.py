"""The billing actions of the portal: what the Subscription section's buttons and cogwheel menu do."""

from nicegui import ui

from components.subscription_section import SubscriptionActions
from services.container import Services


def subscription_actions(services: Services, act) -> SubscriptionActions:
    """`act(lambda session: ...)` runs a service call with the caller's current session (see pages/admin.py)."""
    billing = services.billing
    return SubscriptionActions(
        choose=lambda: ui.navigate.to('/admin/subscriptions'),
        resync=lambda: act(lambda session: billing.resync(session=session)),
    )

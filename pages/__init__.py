"""Every page of the portal; `register` adds them all to NiceGUI's app."""

from services.container import Services


def register(services: Services) -> None:
    from pages import admin, auth, help, setup, stripe_webhook, subscriptions

    auth.register(services)
    setup.register(services)
    admin.register(services)
    subscriptions.register(services)
    help.register(services)
    stripe_webhook.register(services)

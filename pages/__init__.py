"""Every page of the portal; `register` adds them all to NiceGUI's app."""

from nicegui import app, ui

from components.frame import POSITIVE, PRIMARY
from services.container import Services


def register(services: Services) -> None:
    # Quasar's loading bar starts on every XHR and, unnamed, is an accessibility fault; no page of Portico needs it.
    app.config.quasar_config['loadingBar']['skipHijack'] = True
    ui.button.default_props('no-caps')  # every button in sentence case, as UI_CONTRACT.md writes its labels
    # Portico's colours for every page, in the page itself: `ui.colors` on each page is a Vue component to load.
    app.colors(primary=PRIMARY, positive=POSITIVE)
    from pages import admin, auth, help, setup, stripe_webhook, subscriptions

    auth.register(services)
    setup.register(services)
    admin.register(services)
    subscriptions.register(services)
    help.register(services)
    stripe_webhook.register(services)

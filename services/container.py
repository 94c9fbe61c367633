"""The object graph that main.py builds once and hands to the pages."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.billing import Billing
from services.billing.gateway import StripeGateway
from services.billing.manage import BillingManager
from services.events import EventBus
from services.mail import Mailer
from services.plans import Catalog, load_catalog
from services.settings import Settings
from services.users import UserDirectory

PLANS_FILE = Path(__file__).resolve().parent.parent / 'plans.toml'


@dataclass(frozen=True)
class Services:
    settings: Settings
    mailer: Mailer
    events: EventBus
    users: UserDirectory
    billing: Billing
    manager: BillingManager

    @classmethod
    def build(cls, settings: Settings, *, emulator_app: Any = None, catalog: Catalog | None = None) -> 'Services':
        """Wire the services; offline, `emulator_app` is the Stripe emulator the gateway talks to in-process."""
        mailer, events = Mailer(settings), EventBus()
        if settings.offline_billing:
            emulator = emulator_app.state.emulator
            gateway = StripeGateway.for_emulator(
                api_key=emulator.api_key, webhook_secret=emulator.webhook_secret, asgi_app=emulator_app
            )
        else:
            gateway = StripeGateway.for_stripe(
                secret_key=settings.stripe_secret_key, webhook_secret=settings.stripe_webhook_secret
            )
        billing = Billing(
            settings=settings, catalog=catalog or load_catalog(PLANS_FILE), gateway=gateway, events=events
        )
        return cls(
            settings=settings,
            mailer=mailer,
            events=events,
            users=UserDirectory(settings=settings, mailer=mailer, events=events),
            billing=billing,
            manager=BillingManager(billing),
        )

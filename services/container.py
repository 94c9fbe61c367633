"""The object graph that main.py builds once and hands to the pages."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.alerts import AutoTopUpFailedMail, LowBalanceMail, PaymentFailedMail, ReceiptMail
from services.auth import Session
from services.billing import Billing
from services.billing.gateway import StripeGateway
from services.billing.usage import Usage
from services.caller import Around, Caller
from services.entitlements import EntitlementsReader
from services.events import EventBus, Events
from services.locks import InProcessLocks, Locks, use_locks
from services.mail import Mailer
from services.organizations import Organizations
from services.plans import Catalog, load_catalog
from services.product_webhooks import ProductWebhooks
from services.settings import Settings
from services.users import UserDirectory

PLANS_FILE = Path(__file__).resolve().parent.parent / 'plans.toml'


@dataclass(frozen=True)
class Services:
    settings: Settings
    mailer: Mailer
    events: Events
    locks: Locks
    users: UserDirectory
    organizations: Organizations
    billing: Billing
    product: ProductWebhooks
    entitlements: EntitlementsReader
    usage: Usage

    @classmethod
    def build(
        cls, settings: Settings, *, emulator_app: Any = None, catalog: Catalog | None = None,
        events: Events | None = None, locks: Locks | None = None,
    ) -> 'Services':  # fmt: skip
        """Wire the services; offline, `emulator_app` is the Stripe emulator the gateway talks to in-process.

        `events` and `locks` default to this process's own; a deployment of several processes hands in shared ones.
        """
        events, locks = events or EventBus(), locks or InProcessLocks()
        use_locks(locks)  # what the module-level `one_at_a_time` of logins and /setup use, too
        mailer = Mailer(settings)
        if settings.offline_billing:
            emulator = emulator_app.state.emulator
            gateway = StripeGateway.for_emulator(
                api_key=emulator.api_key, webhook_secret=emulator.webhook_secret, asgi_app=emulator_app
            )
        else:
            gateway = StripeGateway.for_stripe(
                secret_key=settings.stripe_secret_key, webhook_secret=settings.stripe_webhook_secret
            )
        catalog = catalog or load_catalog(PLANS_FILE)
        product = ProductWebhooks(settings)
        entitlements = EntitlementsReader(settings=settings, catalog=catalog, product=product)
        billing = Billing(settings=settings, catalog=catalog, gateway=gateway, events=events, locks=locks,
                          on_mirror_change=entitlements.announce_if_changed)  # fmt: skip
        for mail in (LowBalanceMail, PaymentFailedMail, AutoTopUpFailedMail):
            mail(events=events, mailer=mailer, base_url=settings.base_url)
        ReceiptMail(events=events, mailer=mailer, gateway=gateway)
        return cls(
            settings=settings, mailer=mailer, events=events, locks=locks,
            users=UserDirectory(settings=settings, mailer=mailer, events=events, product=product),
            organizations=Organizations(events=events, customers=billing.customers, product=product),
            billing=billing, product=product, entitlements=entitlements,
            usage=Usage(contexts=billing.contexts, entitlements=entitlements, product=product),
        )  # fmt: skip

    def for_session(self, session_of: Callable[[], Session | None], around: Around | None = None) -> Caller:
        """The services as the caller with that session sees them (see services.caller)."""
        return Caller(self, session_of, around) if around else Caller(self, session_of)

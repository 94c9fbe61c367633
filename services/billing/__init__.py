"""Billing, by capability. Each module owns one part of Stripe and of the mirror:

| module | what it does |
|---|---|
| `catalog` | the plans' Products and Prices in Stripe (`stripe-sync`) |
| `customers` | the organization's Stripe customer |
| `checkout` | the first subscription through Checkout, and acting once on a completed session |
| `subscriptions` | the overview, previewed changes, seats, cancellation |
| `previews` | a previewed change in words: the period a proration covers, and each line's amount |
| `resync` | the mirror kept in step: a webhook's subscription, and "Resync with Stripe" |
| `payment_methods` | the cards, and the one a subscription is charged to |
| `invoices` | billing history |
| `recovery` | a failed payment: what is owed, "Pay now", the admins told once |
| `pausing` | "Pause subscription" for some billing periods or until resumed, and "Resume subscription" |
| `schedules` | changes at the end of the current period (a subscription schedule), "Cancel scheduled change" |
| `changes` | what every change of plan, interval or seats checks first |
| `notices` | billing moments that mail someone exactly once |
| `tokens` | token packs, the ledger and the balance |
| `auto_top_up` | packs bought with the default card when the balance falls below a threshold |
| `mirror` | the only writer of SubscriptionMirror, and the questions asked of it |
| `context` | the caller re-checked, the organization's lock and idempotency keys |
| `webhooks` | Stripe's signed events, each to its handler |
| `gateway` | the only module that imports `stripe` |

Pages read only the mirror; every change goes to Stripe first, and the mirror is overwritten from what Stripe then
returns, whether a webhook or the page that asked gets there first.
"""

from services.billing.auto_top_up import AutoTopUps
from services.billing.catalog import CatalogSync
from services.billing.checkout import Checkouts
from services.billing.context import Contexts
from services.billing.customers import Customers
from services.billing.gateway import StripeGateway
from services.billing.invoices import Invoices
from services.billing.mirror import Mirror, OnChange
from services.billing.pausing import Pausing
from services.billing.payment_methods import PaymentMethods
from services.billing.recovery import Recovery, owed_invoice
from services.billing.resync import Resync
from services.billing.schedules import ScheduledChanges, scheduled_change
from services.billing.subscriptions import Subscriptions
from services.billing.tokens import Tokens
from services.events import Events
from services.locks import Locks
from services.plans import Catalog
from services.settings import Settings


class Billing:
    """The billing capabilities, wired once by `Services.build`."""

    def __init__(self, *, settings: Settings, catalog: Catalog, gateway: StripeGateway, events: Events,
                 locks: Locks, on_mirror_change: OnChange | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.catalog = catalog
        self.gateway = gateway
        return_url = f'{settings.base_url}/admin'
        self.mirror = Mirror(
            catalog,
            owed=lambda subscription: owed_invoice(gateway, subscription, return_url=return_url),
            scheduled=lambda subscription: scheduled_change(gateway, catalog, subscription),
            **({'on_change': on_mirror_change} if on_mirror_change else {}),
        )
        self.contexts = Contexts(catalog=catalog, mirror=self.mirror, locks=locks, events=events)
        self.prices = CatalogSync(catalog=catalog, gateway=gateway)
        self.customers = Customers(gateway=gateway, events=events)
        self.checkouts = Checkouts(settings=settings, gateway=gateway, contexts=self.contexts,
                                   customers=self.customers, prices=self.prices, mirror=self.mirror)  # fmt: skip
        self.subscriptions = Subscriptions(settings=settings, gateway=gateway, contexts=self.contexts,
                                           prices=self.prices, mirror=self.mirror)  # fmt: skip
        self.payment_methods = PaymentMethods(settings=settings, gateway=gateway, contexts=self.contexts,
                                              customers=self.customers, checkouts=self.checkouts,
                                              mirror=self.mirror)  # fmt: skip
        self.resync = Resync(gateway=gateway, contexts=self.contexts, mirror=self.mirror)
        self.recovery = Recovery(gateway=gateway, contexts=self.contexts, resync=self.resync.sync)
        self.pausing = Pausing(gateway=gateway, contexts=self.contexts, mirror=self.mirror)
        self.schedules = ScheduledChanges(gateway=gateway, contexts=self.contexts, prices=self.prices)
        self.invoices = Invoices(gateway=gateway, contexts=self.contexts)
        self.tokens = Tokens(settings=settings, gateway=gateway, contexts=self.contexts,
                             open_checkout=self.checkouts.open)  # fmt: skip
        self.auto_top_ups = AutoTopUps(gateway=gateway, contexts=self.contexts)

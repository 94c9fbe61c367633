from dataclasses import dataclass
from pathlib import Path
from typing import Any

API_VERSION = '2026-10-28.endive'


@dataclass(frozen=True)
class EmulatorConfig:
    """Where the emulator keeps its state and how it reaches the outside world.

    `base_url` + `mount_path` is the public address of the emulator: hosted pages (checkout, invoices)
    and the URLs inside API objects are built from it.
    """

    data_dir: Path
    base_url: str = 'http://127.0.0.1:8080'
    mount_path: str = '/emulator/stripe'
    webhook_url: str | None = None
    account_name: str = 'Portico (offline billing)'
    # Failed webhook deliveries are retried after base * 2**(attempt-1) seconds, capped at max.
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 600.0
    webhook_timeout_seconds: float = 10.0
    # A host in the same process can take deliveries in-process (e.g. httpx.ASGITransport(app)), so they reach it
    # even when base_url is a public address the server itself cannot call.
    webhook_transport: Any = None
    # Subscriptions of customers without a test clock renew in real time; this is how often we look.
    renewal_sweep_seconds: float = 60.0
    # A SEPA Direct Debit payment is `processing` this long before it succeeds or fails (Stripe's test mode takes a
    # few minutes); in a customer's test-clock time when the customer has a clock.
    async_payment_delay_seconds: float = 180.0
    # A failed renewal is retried this many days after its first failure (test-clock days for a clock's customer);
    # after the last retry the subscription is canceled (`cancel`, Stripe's default) or marked `unpaid`.
    retry_schedule_days: tuple[float, ...] = (3, 5, 7)
    past_due_policy: str = 'cancel'

    def __post_init__(self) -> None:
        if self.past_due_policy not in ('cancel', 'unpaid'):
            raise ValueError(f'past_due_policy must be cancel or unpaid, not {self.past_due_policy!r}')

    @property
    def public_url(self) -> str:
        base = self.base_url.rstrip('/')
        mount = self.mount_path.strip('/')
        return f'{base}/{mount}' if mount else base

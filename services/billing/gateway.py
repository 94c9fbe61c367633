"""The only module that imports `stripe`: the official SDK's async client, for real Stripe or the emulator.

Every write carries a deterministic idempotency key (organization, action, revision) chosen by the caller, so a
double click or a retry can never create two of anything. Stripe's errors become Portico's: PaymentFailed for a
card that was refused, TaxIdRefused for a tax ID whose value does not fit its type, BillingUnavailable for everything
else.
"""

import logging
from typing import Any

import httpx
import stripe

from services.errors import ServiceError

log = logging.getLogger('portico.stripe')


class PaymentFailed(ServiceError):
    """The card was refused; the message is Stripe's, meant for the cardholder."""


class TaxIdRefused(ServiceError):
    """Stripe refused a tax ID's value for its type (`tax_id_invalid`); the message is Stripe's."""


class BillingUnavailable(ServiceError):
    """Stripe could not be reached or refused the request."""


class InvalidSignature(Exception):
    """A webhook whose Stripe-Signature does not verify."""


class _InProcessHTTPClient(stripe.HTTPXClient):
    """Real Stripe HTTP requests, handed to an ASGI app in this process instead of a socket."""

    def __init__(self, asgi_app: Any) -> None:
        super().__init__()
        self._client_async = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi_app))


class StripeGateway:
    def __init__(self, client: stripe.StripeClient, *, webhook_secret: str) -> None:
        self.client = client
        self.webhook_secret = webhook_secret
        self.calls = 0  # every request to Stripe, counted: pages must render without any

    @classmethod
    def for_stripe(cls, *, secret_key: str, webhook_secret: str) -> 'StripeGateway':
        client = stripe.StripeClient(secret_key, max_network_retries=2, http_client=stripe.HTTPXClient())
        return cls(client, webhook_secret=webhook_secret)

    @classmethod
    def for_emulator(cls, *, api_key: str, webhook_secret: str, asgi_app: Any) -> 'StripeGateway':
        client = stripe.StripeClient(
            api_key, base_addresses={'api': 'http://stripe-emulator'}, http_client=_InProcessHTTPClient(asgi_app)
        )
        return cls(client, webhook_secret=webhook_secret)

    def verify_event(self, payload: bytes, signature: str | None) -> dict:
        """The event of a webhook body, once its signature and timestamp check out."""
        try:
            event = self.client.construct_event(payload, signature, self.webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidSignature(str(error)) from None
        return event.to_dict()

    async def call(self, resource: str, method: str, *args: Any, key: str | None = None, **params: Any) -> Any:
        """`client.v1.<resource>.<method>_async(*args, params=...)`, e.g. call('customers', 'create', name=...).

        `resource` may be dotted ('checkout.sessions'). `key` is the idempotency key of a write.
        """
        target: Any = self.client.v1
        for part in resource.split('.'):
            target = getattr(target, part)
        options = {'idempotency_key': key} if key else {}
        self.calls += 1
        try:
            result = await getattr(target, f'{method}_async')(*args, params=params or None, options=options)
        except stripe.CardError as error:
            raise PaymentFailed(error.user_message or 'The card was declined.') from None
        except stripe.StripeError as error:
            if error.code == 'tax_id_invalid':
                raise TaxIdRefused(error.user_message or 'Stripe refused this tax ID.') from None
            log.warning('Stripe %s.%s failed: %s', resource, method, error)
            raise BillingUnavailable(f'Billing is unavailable right now: {error.user_message or error}') from None
        return result.to_dict() if hasattr(result, 'to_dict') else result

    async def list_all(self, resource: str, *args: Any, limit: int = 100, **params: Any) -> list[dict]:
        """Every item of a Stripe list, page by page with starting_after."""
        items: list[dict] = []
        while True:
            page = await self.call(resource, 'list', *args, limit=limit, **params)
            items.extend(page['data'])
            if not page['has_more']:
                return items
            params['starting_after'] = page['data'][-1]['id']

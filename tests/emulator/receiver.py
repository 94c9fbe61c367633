"""A webhook endpoint for tests: verifies each delivery with the SDK and can pretend to be down."""

import time
from dataclasses import dataclass, field

import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Delivery:
    event_id: str
    event_type: str
    status: int
    body: bytes
    headers: dict
    at: float = field(default_factory=time.monotonic)


@dataclass
class Receiver:
    secret: str
    failures_left: int = 0  # answer this many deliveries with HTTP 500 first
    deliveries: list[Delivery] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route('/stripe/webhook', self._handle, methods=['POST'])])

    @property
    def acknowledged(self) -> list[str]:
        return [d.event_id for d in self.deliveries if d.status == 200]

    async def _handle(self, request: Request) -> JSONResponse:
        body = await request.body()
        event = stripe.Webhook.construct_event(body, request.headers['stripe-signature'], self.secret)
        status = 200
        if self.failures_left > 0:
            self.failures_left -= 1
            status = 500
        self.deliveries.append(Delivery(event.id, event.type, status, body, dict(request.headers)))
        return JSONResponse({'received': status == 200}, status_code=status)

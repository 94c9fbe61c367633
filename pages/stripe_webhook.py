"""POST /stripe/webhook: Stripe's signed events, handed to the billing service as raw bytes."""

from fastapi import Request
from fastapi.responses import JSONResponse
from nicegui import app

from services.billing import webhooks
from services.container import Services


def register(services: Services) -> None:
    @app.post('/stripe/webhook', include_in_schema=False)
    async def stripe_webhook(request: Request) -> JSONResponse:
        # The signature covers the exact bytes, so the body is read raw, never parsed and re-encoded first.
        result = await webhooks.receive(services.billing, await request.body(), request.headers.get('stripe-signature'))
        return JSONResponse({'message': result.message}, status_code=result.status)

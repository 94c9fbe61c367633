"""POST /stripe/webhook: Stripe's signed events, handed to the billing service as raw bytes."""

from fastapi import Request
from fastapi.responses import JSONResponse
from nicegui import app

from services.billing import webhooks
from services.container import Services

# Stripe's events are a few KiB; a body this large is not one, and is refused before it is read whole.
MAX_BODY_BYTES = 1024 * 1024


def register(services: Services) -> None:
    @app.post('/stripe/webhook', include_in_schema=False)
    async def stripe_webhook(request: Request) -> JSONResponse:
        # The signature covers the exact bytes, so the body is read raw, never parsed and re-encoded first.
        body = await read_limited(request, MAX_BODY_BYTES)
        if body is None:
            return JSONResponse({'message': 'payload too large'}, status_code=413)
        result = await webhooks.receive(services.billing, body, request.headers.get('stripe-signature'))
        return JSONResponse({'message': result.message}, status_code=result.status)


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None once it is known to exceed `limit` bytes (by its Content-Length, or while streaming)."""
    declared = request.headers.get('content-length', '')
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b''.join(chunks)

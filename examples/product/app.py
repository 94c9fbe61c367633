"""An example product that Portico administers: it asks Portico whether an organization may use it, spends one
token per report, and hears Portico's webhooks. Run: python examples/product/app.py (settings below).

- PORTICO_URL: where Portico runs, e.g. http://127.0.0.1:8080
- PORTICO_API_KEY: a key from `python main.py api-key create --name my-product`
- PORTICO_WEBHOOK_SECRET: Portico's DATA_DIR/product-webhook-secret (or its PRODUCT_WEBHOOK_SECRET)
- PORT: where this product listens (default 8090)
"""

import os

import httpx
import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PORTICO = os.environ.get('PORTICO_URL', 'http://127.0.0.1:8080').rstrip('/')
API_KEY = os.environ.get('PORTICO_API_KEY', '')
WEBHOOKS = Webhook(os.environ['PORTICO_WEBHOOK_SECRET']) if os.environ.get('PORTICO_WEBHOOK_SECRET') else None
TOKENS_PER_REPORT = 1
heard: dict[str, dict] = {}  # Portico's events by webhook-id: a repeat of one is recognized, not applied twice


def portico() -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f'{PORTICO}/api/v1', headers={'authorization': f'Bearer {API_KEY}'}, timeout=10)


async def render_report(request: Request) -> JSONResponse:
    """GET /organizations/{id}/reports/{report}: render a report, if the organization is live and can pay for it."""
    organization, report = request.path_params['organization'], request.path_params['report']
    async with portico() as client:
        entitlements = (await client.get(f'/organizations/{organization}')).json()
        if not entitlements.get('is_live'):
            return JSONResponse({'error': f'organization {organization} is not live'}, status_code=403)
        spent = await client.post(
            f'/organizations/{organization}/tokens/consume',
            json={
                'amount': TOKENS_PER_REPORT,
                'idempotency_key': f'report-{report}',
                'description': f'Report {report}',
            },
        )  # the report's id is the key: asking twice for the same report spends one token
    if spent.status_code == 402:
        return JSONResponse({'error': 'out of tokens', 'balance': spent.json()['error']['balance']}, status_code=402)
    spent.raise_for_status()
    return JSONResponse(
        {'report': report, 'plan': (entitlements['plan'] or {}).get('name'), 'tokens_left': spent.json()['balance']}
    )


async def portico_webhook(request: Request) -> JSONResponse:
    """POST /webhooks/portico: Portico's events, verified with the Standard Webhooks library."""
    body = await request.body()
    try:
        event = WEBHOOKS.verify(body, dict(request.headers))
    except (WebhookVerificationError, AttributeError):
        return JSONResponse({'error': 'bad signature'}, status_code=400)
    heard.setdefault(request.headers['webhook-id'], event)
    return JSONResponse({'ok': True})


async def events(request: Request) -> JSONResponse:
    """GET /events: what this product heard, oldest first."""
    return JSONResponse(
        [{'webhook_id': key, 'type': event['type'], 'data': event['data']} for key, event in heard.items()]
    )


app = Starlette(
    routes=[
        Route('/organizations/{organization:int}/reports/{report}', render_report),
        Route('/webhooks/portico', portico_webhook, methods=['POST']),
        Route('/events', events),
    ]
)

if __name__ == '__main__':
    uvicorn.run(app, host='127.0.0.1', port=int(os.environ.get('PORT', '8090')), log_level='warning')

"""3-D Secure on the hosted pages, like Stripe's test page: the cardholder chooses "Complete authentication" or
"Fail authentication".

- `challenge`: the step between a Checkout (or invoice) form and its payment, for a card that asks for it. The typed
  values ride along as hidden fields, so the form is posted again with the cardholder's choice.
- `show` / `submit` at `/authenticate/{payment_intent}?token=…` (a PaymentIntent's `next_action.redirect_to_url`):
  an off-session payment left `requires_action`, completed or failed afterwards.
"""

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .. import authentication
from ..context import Context
from ..emulator import Emulator
from ..money import format_money
from .forms import FormRefused, read_form
from .layout import brand, esc, not_found, page, token_matches

FIELD = 'authentication'
_CHOICES = ('complete', 'fail')


def decision(values: dict[str, str]) -> str | None:
    """'complete' or 'fail' once the cardholder chose on the challenge step; None before."""
    chosen = values.get(FIELD)
    return chosen if chosen in _CHOICES else None


def challenge(ctx: Context, *, action: str, values: dict[str, str], amount: str | None) -> HTMLResponse:
    hidden = ''.join(f'<input type="hidden" name="{esc(name)}" value="{esc(value)}">'
                     for name, value in values.items() if name != FIELD)  # fmt: skip
    return HTMLResponse(page('3D Secure', _panel(ctx, action=esc(action), hidden=hidden, amount=amount)))


def _panel(ctx: Context, *, action: str, hidden: str, amount: str | None) -> str:
    what = f'a payment of {esc(amount)}' if amount else 'this card'
    return f"""<section class="pay"><div class="card">{brand(ctx.config.account_name)}
<h1>3D Secure</h1>
<p>Your bank asks you to confirm {what} to {esc(ctx.config.account_name)}.</p>
<p class="muted">This is a test page, as on Stripe: choose what the cardholder does.</p>
<form method="post" action="{action}">{hidden}
<button type="submit" name="{FIELD}" value="complete">Complete authentication</button>
<button type="submit" name="{FIELD}" value="fail" style="background:#fff;color:#c0123c;border:1px solid #c0123c">
Fail authentication</button></form></div></section>"""


async def show(request: Request) -> Response:
    ctx, intent = _lookup(request)
    if intent is None:
        return not_found('Payment')
    return _render(ctx, intent, request)


async def submit(request: Request) -> Response:
    try:
        values = await read_form(request)
    except FormRefused as refused:
        return refused.response()
    emulator: Emulator = request.app.state.emulator
    ctx = emulator.context()
    with emulator.store.transaction():
        intent = _intent(ctx, request)
        if intent is None:
            return not_found('Payment')
        chosen = decision(values)
        if chosen is not None and intent['status'] == 'requires_action':  # a second post changes nothing
            authentication.finish(ctx, intent, completed=chosen == 'complete')
    return _render(ctx, intent, request)


def _render(ctx: Context, intent: dict, request: Request) -> HTMLResponse:
    amount = format_money(intent['amount'], intent['currency'])
    if intent['status'] == 'requires_action':
        action = ctx.url(f'/authenticate/{intent["id"]}?{request.url.query}')
        return HTMLResponse(page('3D Secure', _panel(ctx, action=esc(action), hidden='', amount=amount)))
    if intent['status'] == 'succeeded':
        heading, text = 'Payment confirmed', f'Your payment of {amount} is complete.'
    else:
        heading, text = 'Authentication failed', (intent.get('last_payment_error') or {}).get('message') or ''
    back = _return_url(ctx, request.query_params.get('return_url'))
    link = f'<a class="button" href="{esc(back)}">Return to {esc(ctx.config.account_name)}</a>' if back else ''
    body = f"""<section class="pay"><div class="card">{brand(ctx.config.account_name)}
<h1>{esc(heading)}</h1><p role="status">{esc(text)}</p>{link}</div></section>"""
    return HTMLResponse(page(heading, body))


def _return_url(ctx: Context, url: str | None) -> str | None:
    """Only back to the emulator's own host (the portal it is mounted in): never an open redirect."""
    if not url:
        return None
    mine, theirs = urlsplit(ctx.config.base_url), urlsplit(url)
    return url if (theirs.scheme, theirs.netloc) == (mine.scheme, mine.netloc) else None


def _lookup(request: Request) -> tuple[Context, dict | None]:
    ctx = request.app.state.emulator.context()
    return ctx, _intent(ctx, request)


def _intent(ctx: Context, request: Request) -> dict | None:
    intent = ctx.store.get(request.path_params['intent_id'], 'payment_intent')
    token = request.query_params.get('token', '')
    if intent is None or not token_matches(ctx.hosted_token(intent['id']), token):
        return None
    return intent

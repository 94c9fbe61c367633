"""Reading what a browser posts to the hosted pages: small URL-encoded forms, refused before they grow too big, and
the payment forms of the Checkout and invoice pages."""

from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..bodies import BodyRefused, read_body
from ..context import Context
from ..emulator import Emulator
from ..errors import StripeError
from ..ids import new_id
from .cardform import CardForm
from .layout import esc, page

# The hosted forms hold a few short fields; anything near this size is not a browser filling them in.
MAX_FORM_BYTES = 64 * 1024
_MAX_FIELDS = 100


class FormRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> HTMLResponse:
        body = f'<div class="card"><h2>Request refused</h2><p>{esc(self.message)}</p></div>'
        return HTMLResponse(page('Request refused', body), status_code=self.status)


async def read_form(request: Request) -> dict[str, str]:
    """The posted fields (a field sent twice keeps its last value)."""
    try:
        body = await read_body(request, MAX_FORM_BYTES)
    except BodyRefused as refused:
        raise FormRefused(refused.status, refused.message) from None
    try:
        pairs = parse_qsl(body.decode('utf-8'), keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise FormRefused(400, 'The form could not be read.') from None
    return dict(pairs)


async def post_payment_form(
    request: Request,
    *,
    find: Callable[[Context], dict | None],
    pay: Callable[[Context, dict, dict[str, str]], dict[str, str] | Response | None],
    render: Callable[..., Response],
    not_found: Callable[[], Response],
    reload: Callable[[Context], dict | None] | None = None,
    paid: Callable[[Context, dict], Response] | None = None,
) -> Response:
    """Take the payment form posted for an open object (a Checkout Session, an invoice) and pay it.

    `find` looks the object up (None: not found) and `render(ctx, doc, form, status=...)` shows its page.
    `pay` reads the posted values and pays; it returns the form's errors by field name instead when they do not
    pass, or a page to show first (3-D Secure's challenge) without paying. It all runs in one transaction, so a
    re-posted form finds the object no longer open and charges nothing twice. A decline (a `StripeError`) rolls it
    back: the form shows again with the message, on the object as `reload` (by default `find`) finds it then.
    `paid` answers once the payment went through (by default, the page again).
    """
    emulator: Emulator = request.app.state.emulator
    ctx = emulator.context(request_id=new_id('req'))
    try:
        values = await read_form(request)
    except FormRefused as refused:
        return refused.response()
    try:
        with emulator.store.transaction():
            doc = find(ctx)
            if doc is None:
                return not_found()
            if doc['status'] != 'open':
                return render(ctx, doc, CardForm())
            errors = pay(ctx, doc, values)
            if isinstance(errors, Response):
                return errors
            if errors is not None:
                return render(ctx, doc, CardForm(values, errors), status=400)
    except StripeError as error:  # declined: the transaction rolled back, nothing was created
        doc = (reload or find)(ctx)
        return render(ctx, doc, CardForm(values, general_error=error.message), status=402)
    return paid(ctx, doc) if paid else render(ctx, doc, CardForm())

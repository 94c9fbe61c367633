"""Reading what a browser posts to the hosted pages: small URL-encoded forms, refused before they grow too big."""

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse

from ..bodies import BodyRefused, read_body
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

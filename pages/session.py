"""The browser session, kept in NiceGUI's signed session cookie: the user id, the session epoch and the key of the
session's row. The cookie changes only in HTTP responses, and each one starts a new browser id:

- `GET /login/complete?ticket=…` turns the ticket of a right password into a session (and ends the browser's
  previous one), so a cookie planted before the login is worth nothing after it;
- `POST /logout` ends the session for every tab of the browser.

A page reads the cookie of the request that opened it, so it acts and reads only with the session it was opened
with, whatever the browser did since in other tabs.
"""

import hashlib
import hmac
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui

from services import auth
from services.auth import Session
from services.container import Services
from services.errors import NotAuthenticated, ServiceError, ValidationFailed
from services.events import browser_session_ended

T = TypeVar('T')
COMPLETE_LOGIN = '/login/complete'
AUTHORIZE = '/oauth/authorize'


def current_session() -> Session | None:
    """The session in the cookie of the request that built the page (or of the HTTP request being answered)."""
    return Session.from_cookie(app.storage.browser)


def browser_id() -> str:
    return str(app.storage.browser.get('id', ''))


def client_address() -> str:
    """The visitor's address; behind a trusted proxy (FORWARDED_ALLOW_IPS) uvicorn has put X-Forwarded-For here."""
    request = ui.context.client.request
    return request.client.host if request is not None and request.client else ''


async def begin_login(services: Services, user, next_url: str = '') -> None:
    """The password was right: the browser fetches its new cookie over HTTP, then goes on to `next_url`."""
    ticket = await auth.begin_login(
        user, browser_id=browser_id(), client_address=client_address(), max_age=services.settings.session_max_age
    )
    go_on = f'&{urlencode({"next": next_url})}' if safe_next(next_url) else ''
    ui.navigate.to(f'{COMPLETE_LOGIN}?ticket={ticket}{go_on}')


def safe_next(next_url: str | None) -> str:
    """Where a login may go on to: only a product's sign-in that sent the browser here (never another site)."""
    if next_url and next_url.startswith(AUTHORIZE + '?') and '\\' not in next_url and len(next_url) < 4000:
        return next_url
    return ''


def logout_token(session: Session | None) -> str:
    """Proves that a "Log out" form came from one of this session's own pages (a CSRF token)."""
    if session is None:
        return ''
    secret = (app.storage.secret or '').encode()
    return hmac.new(secret, f'logout:{session.key}'.encode(), hashlib.sha256).hexdigest()


def register_routes(services: Services) -> None:
    settings = services.settings

    @app.get(COMPLETE_LOGIN, include_in_schema=False)
    async def complete_login(request: Request, ticket: str = '', next: str = '') -> RedirectResponse:  # noqa: A002
        session = await auth.claim_login(ticket, browser_id=str(request.session.get('id', '')),
                                         idle=settings.session_idle)  # fmt: skip
        if session is None:
            return RedirectResponse('/login', status_code=303)
        await _end(services, Session.from_cookie(request.session))  # this browser's previous login, if any
        _new_cookie(request, session)
        if go_on := safe_next(next):
            return RedirectResponse(go_on, status_code=303)  # back to the product's sign-in
        if settings.product_url and not (await auth.load_user(session)).is_admin:
            return RedirectResponse(settings.product_url, status_code=303)  # members use the product
        return RedirectResponse('/admin', status_code=303)

    @app.post('/logout', include_in_schema=False)
    async def logout(request: Request) -> RedirectResponse:
        session = Session.from_cookie(request.session)
        form = await request.form()
        if session is not None and hmac.compare_digest(str(form.get('csrf', '')), logout_token(session)):
            await _end(services, session)
            _new_cookie(request, None)
        return RedirectResponse('/login', status_code=303)


async def end_browser_session(services: Services, request: Request) -> None:
    """Log this browser out (a product's RP-initiated logout, oidc.routes)."""
    await _end(services, Session.from_cookie(request.session))
    _new_cookie(request, None)


async def _end(services: Services, session: Session | None) -> None:
    if session is not None and await auth.end_session(session):
        services.events.publish(browser_session_ended(session.digest))


def _new_cookie(request: Request, session: Session | None) -> None:
    """A new browser id, and the session (or none): SessionMiddleware sends the cookie with the response."""
    request.session.clear()
    request.session['id'] = str(uuid.uuid4())
    if session is not None:
        request.session.update(session.to_cookie())


class PageSession:
    """The session a page was opened with, and the services as that session's admin sees them.

    `portal` is for the admin's own actions: each counts as activity (the idle timeout), and a refusal becomes words
    on the page. `quiet` is for what the page does by itself, such as a live update, which keeps nobody logged in.
    `direct` raises the services' refusals, for a page that words them itself.
    """

    def __init__(self, services: Services) -> None:
        self.session = current_session()
        self._idle = services.settings.session_idle
        self.portal = services.for_session(lambda: self.session, around=self._activity)
        self.quiet = services.for_session(lambda: self.session, around=run_action)
        self.direct = services.for_session(lambda: self.session)

    async def admin(self):
        """The page's enabled admin (NotAuthenticated or PermissionDenied otherwise); opening the page is activity."""
        admin = await auth.require_admin(self.session)
        await auth.touch_session(self.session, idle=self._idle)
        return admin

    async def _activity(self, call: Callable[[], Awaitable[T]]) -> T | None:
        await auth.touch_session(self.session, idle=self._idle)
        return await run_action(call)


async def run_action(action: Callable[[], Awaitable[T]]) -> T | None:
    """Run an admin action; a session that ended meanwhile sends the page to /login, a refusal is shown.

    Field errors (ValidationFailed) go back to the form that asked, to be shown next to their fields.
    """
    try:
        return await action()
    except ValidationFailed:
        raise
    except NotAuthenticated:
        ui.navigate.to('/login')
    except ServiceError as refusal:
        ui.notify(str(refusal), type='negative', multi_line=True)
    return None

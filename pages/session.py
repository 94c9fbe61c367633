"""The browser session: only the user id and its session epoch live in app.storage.user."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from nicegui import app, ui

from services.auth import Session
from services.errors import NotAuthenticated, ServiceError, ValidationFailed

T = TypeVar('T')


def current_session() -> Session | None:
    return Session.from_storage(app.storage.user)


def start_session(session: Session) -> None:
    app.storage.user.clear()
    app.storage.user.update(session.to_storage())


def end_session() -> None:
    app.storage.user.clear()


def log_out() -> None:
    end_session()
    ui.navigate.to('/login')


async def run_action(action: Callable[[], Awaitable[T]]) -> T | None:
    """Run an admin action; a session that ended meanwhile sends the page to /login, a refusal is shown.

    Field errors (ValidationFailed) go back to the form that asked, to be shown next to their fields.
    """
    try:
        return await action()
    except ValidationFailed:
        raise
    except NotAuthenticated:
        # The stale session in storage is harmless: every page and action re-checks it, and login replaces it.
        ui.navigate.to('/login')
    except ServiceError as refusal:
        ui.notify(str(refusal), type='negative', multi_line=True)
    return None

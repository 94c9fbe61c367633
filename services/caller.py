"""The services as one caller sees them: each call gets that caller's session, resolved in this one place.

`services.for_session(session_of)` gives `caller.users.add(form=…)` for `services.users.add(session=…, form=…)`.
The services re-check the session on every call, as always; `around` lets a page wrap every call once (to count
it as activity, and to turn refusals into words on the page).
"""

from collections.abc import Awaitable, Callable
from typing import Any

from services.auth import Session

Around = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


async def _plain(call: Callable[[], Awaitable[Any]]) -> Any:
    return await call()


class Bound:
    """A service whose public methods take the caller's session without being told."""

    def __init__(self, service: Any, session_of: Callable[[], Session | None], around: Around) -> None:
        self._service = service
        self._session_of = session_of
        self._around = around

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        if name.startswith('_'):
            raise AttributeError(name)
        method = getattr(self._service, name)

        async def call(**kwargs: Any) -> Any:
            return await self._around(lambda: method(session=self._session_of(), **kwargs))

        return call


class Caller:
    """Every service an admin's page uses, bound to that page's session."""

    def __init__(self, services: Any, session_of: Callable[[], Session | None], around: Around = _plain) -> None:
        def bind(service: Any) -> Bound:
            return Bound(service, session_of, around)

        billing = services.billing
        self.users = bind(services.users)
        self.organizations = bind(services.organizations)
        self.subscriptions = bind(billing.subscriptions)
        self.resync = bind(billing.resync)
        self.checkouts = bind(billing.checkouts)
        self.payment_methods = bind(billing.payment_methods)
        self.invoices = bind(billing.invoices)
        self.recovery = bind(billing.recovery)
        self.pausing = bind(billing.pausing)
        self.schedules = bind(billing.schedules)
        self.tokens = bind(billing.tokens)
        self.auto_top_up = bind(billing.auto_top_ups)
        self.usage = bind(services.usage)

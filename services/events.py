"""Change events: services publish what changed, open pages subscribe and refresh themselves.

`Events` is the interface that `Services` hands out. `EventBus`, a dictionary of callbacks in this process, is the
one Portico uses, since it runs as one process; a version for several processes (PostgreSQL's LISTEN/NOTIFY, say)
implements the same two methods. Callbacks are plain functions; a page that needs to do async work schedules it.
"""

import contextlib
import contextvars
import logging
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Protocol

log = logging.getLogger('portico.events')

Callback = Callable[[Any], None]


class Events(Protocol):
    def subscribe(self, topic: Hashable, callback: Callback) -> Callable[[], None]:
        """Call `callback(payload)` for each event on `topic`; returns the function that unsubscribes."""
        ...

    def publish(self, topic: Hashable, payload: Any = None) -> None: ...

    def deferred(self) -> contextlib.AbstractContextManager[None]:
        """Hold what is published inside the block until it ends (after its transaction commits)."""
        ...


_held_back: contextvars.ContextVar[list | None] = contextvars.ContextVar('held_back_events', default=None)


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[Hashable, list[Callback]] = defaultdict(list)

    def subscribe(self, topic: Hashable, callback: Callback) -> Callable[[], None]:
        """Call `callback(payload)` for each event on `topic`; returns the function that unsubscribes."""
        self._subscribers[topic].append(callback)

        def unsubscribe() -> None:
            callbacks = self._subscribers.get(topic, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks:
                self._subscribers.pop(topic, None)

        return unsubscribe

    def publish(self, topic: Hashable, payload: Any = None) -> None:
        if (held := _held_back.get()) is not None:
            held.append((topic, payload))
            return
        for callback in list(self._subscribers.get(topic, ())):
            try:
                callback(payload)
            except Exception:
                # One broken page must not stop the others, nor undo the change that was published.
                log.exception('subscriber of %s failed', topic)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        held: list = []
        token = _held_back.set(held)
        try:
            yield
        finally:
            _held_back.reset(token)
        for topic, payload in held:  # only when the block succeeded: a rolled-back change is not news
            self.publish(topic, payload)


def users_changed(organization_id: int) -> tuple[str, int]:
    return ('users', organization_id)


def organization_changed(organization_id: int) -> tuple[str, int]:
    return ('organization', organization_id)


def billing_changed(organization_id: int) -> tuple[str, int]:
    return ('billing', organization_id)


def session_ended(user_id: int) -> tuple[str, int]:
    return ('session-ended', user_id)


def browser_session_ended(session_digest: str) -> tuple[str, str]:
    """One browser's session ended (logged out, or replaced by a new login): its open tabs leave."""
    return ('browser-session-ended', session_digest)


def payment_failed() -> tuple[str]:
    """An invoice of an organization failed for the first time (the payload is its id): the admins are mailed."""
    return ('payment-failed',)


def tokens_low() -> tuple[str]:
    """An organization's tokens fell below its admins' threshold (the payload is its id): the admins are mailed."""
    return ('tokens-low',)


def invoice_paid() -> tuple[str]:
    """An invoice of an organization was paid (the payload is (organization id, invoice id), published once per
    invoice): its receipt is mailed."""
    return ('invoice-paid',)


def auto_top_up_due() -> tuple[str]:
    """A consumption took an organization's balance below its auto top-up threshold (the payload is (organization id,
    id of the ledger entry that crossed it), published once per crossing after its commit): the packs are bought."""
    return ('auto-top-up-due',)


def auto_top_up_failed() -> tuple[str]:
    """An auto top-up was refused and auto top-up switched off (the payload is the organization's id, published once
    per switch-off): the admins are mailed."""
    return ('auto-top-up-failed',)

"""An in-process event bus: services publish what changed, open pages subscribe and refresh themselves.

Portico runs as one process, so a dictionary of callbacks is the whole transport. Callbacks are plain functions;
a page that needs to do async work schedules it itself.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import Any

log = logging.getLogger('portico.events')

Callback = Callable[[Any], None]


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
        for callback in list(self._subscribers.get(topic, ())):
            try:
                callback(payload)
            except Exception:
                # One broken page must not stop the others, nor undo the change that was published.
                log.exception('subscriber of %s failed', topic)


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

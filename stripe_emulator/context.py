"""What a handler needs for one operation: the store, the time, and a way to emit events."""

import copy
import hashlib
import hmac
import time
from typing import TYPE_CHECKING

from .cards import fingerprint
from .errors import missing
from .events import emit
from .render import render

if TYPE_CHECKING:
    from .emulator import Emulator


class Context:
    def __init__(
        self, emulator: 'Emulator', *, request_id: str | None = None, idempotency_key: str | None = None
    ) -> None:
        self.emulator = emulator
        self.store = emulator.store
        self.config = emulator.config
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        # Payment methods whose cardholder authenticated (3-D Secure) in this request, on a hosted page: paying with
        # them now asks nothing more.
        self.authenticated: set[str] = set()

    def now(self, customer: dict | str | None = None) -> int:
        """The current time for a customer: its test clock's frozen time, or the real time."""
        if isinstance(customer, str):
            customer = self.store.get(customer, 'customer')
        clock_id = (customer or {}).get('test_clock')
        return self.clock_now(clock_id) if clock_id else int(time.time())

    def clock_now(self, clock_id: str) -> int:
        clock = self.store.get(clock_id, 'test_helpers.test_clock')
        return clock['frozen_time'] if clock else int(time.time())

    def load(self, object_type: str, object_id: str, *, param: str | None = 'id') -> dict:
        doc = self.store.get(object_id, object_type) if isinstance(object_id, str) else None
        if doc is None or doc.get('deleted'):
            raise missing(object_type, str(object_id), param=param)
        return doc

    def save(self, doc: dict) -> dict:
        return self.store.put(doc)

    def snapshot(self, doc: dict) -> dict:
        """The rendered object as it is now, to diff against after a change (`previous_attributes`)."""
        return copy.deepcopy(render(self, doc))

    def emit(self, event_type: str, doc: dict, previous: dict | None = None) -> dict:
        return emit(self, event_type, doc, previous)

    def save_and_emit(self, event_type: str, doc: dict, previous: dict | None = None) -> dict:
        """Save `doc`, then record `event_type` for it; returns the doc."""
        self.save(doc)
        self.emit(event_type, doc, previous)
        return doc

    def save_and_emit_change(self, event_type: str, doc: dict, before: dict) -> dict:
        """Save `doc` after an update; `event_type` is only recorded if it now differs from the snapshot `before`."""
        self.save(doc)
        if self.snapshot(doc) != before:
            self.emit(event_type, doc, before)
        return doc

    def url(self, path: str) -> str:
        return f'{self.config.public_url}{path}'

    def hosted_token(self, object_id: str) -> str:
        """The unguessable part of an object's public URLs (hosted invoice, PDF, mandate), keyed with the API key."""
        return hmac.new(self.emulator.api_key.encode(), object_id.encode(), hashlib.sha256).hexdigest()[:32]

    def fingerprint(self, kind: str, value: str) -> str:
        """A card's or bank account's `fingerprint`, keyed with the emulator's own secret."""
        return fingerprint(self.emulator.fingerprint_secret, kind, value)

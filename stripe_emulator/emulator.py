"""The emulator's long-lived state: keys, the store, and the background tasks (webhooks, renewals)."""

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path

from .clock import renew_real_time
from .config import EmulatorConfig
from .context import Context
from .errors import missing
from .ids import random_token
from .store import Store
from .webhooks import WebhookWorker

log = logging.getLogger(__name__)


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        data_dir = Path(config.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.api_key = _secret_file(data_dir / 'stripe-emulator-key', lambda: f'sk_test_emu_{random_token(32)}')
        self.webhook_secret = _secret_file(
            data_dir / 'stripe-emulator-webhook-secret', lambda: f'whsec_{random_token(32)}'
        )
        self.store = Store(data_dir / 'stripe-emulator.sqlite3')
        self._worker: WebhookWorker | None = None
        self._tasks: list[asyncio.Task] = []

    def context(self, *, request_id: str | None = None, idempotency_key: str | None = None) -> Context:
        return Context(self, request_id=request_id, idempotency_key=idempotency_key)

    async def start(self) -> None:
        """Start webhook delivery and real-time renewals on the running loop; calling it twice is harmless."""
        if self._tasks:
            return
        if self.config.webhook_url:
            self._worker = WebhookWorker(
                self.store,
                url=self.config.webhook_url,
                secret=self.webhook_secret,
                retry_base_seconds=self.config.retry_base_seconds,
                retry_max_seconds=self.config.retry_max_seconds,
                timeout_seconds=self.config.webhook_timeout_seconds,
                transport=self.config.webhook_transport,
            )
            self._tasks.append(asyncio.create_task(self._worker.run(), name='stripe-emulator-webhooks'))
        self._tasks.append(asyncio.create_task(self._renewals(), name='stripe-emulator-renewals'))

    async def stop(self) -> None:
        """Stop the background tasks; undelivered webhooks stay queued in the store for the next start."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._worker = None

    def close(self) -> None:
        """Close the database; only needed when the process goes on without the emulator."""
        self.store.close()

    async def drain(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 (the public API asks for it)
        """Wait until every queued webhook has been acknowledged; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while self.store.pending_deliveries():
            if time.monotonic() > deadline:
                raise TimeoutError(f'{self.store.pending_deliveries()} webhook deliveries still pending')
            await asyncio.sleep(0.01)

    def replay(self, event_id: str) -> dict:
        """Queue an event for delivery once more; returns the event."""
        with self.store.transaction():
            event = self.store.get(event_id, 'event')
            if event is None:
                raise missing('event', event_id)
            if self.config.webhook_url:
                self.store.enqueue_delivery(event_id)
                event['pending_webhooks'] = self.store.pending_deliveries(event_id)
                self.store.put(event)
        self.wake_webhooks()
        return event

    def wake_webhooks(self) -> None:
        if self._worker is not None:
            self._worker.wake()

    async def _renewals(self) -> None:
        while True:
            try:
                with self.store.transaction():
                    renew_real_time(self.context(), int(time.time()))
            except Exception:
                log.exception('real-time subscription renewal failed')
            await asyncio.sleep(self.config.renewal_sweep_seconds)


def _secret_file(path: Path, create) -> str:
    """Read a secret, or create it readable only by us (mode 0600)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return path.read_text().strip()
    value = create()
    with os.fdopen(fd, 'w') as file:
        file.write(value + '\n')
    return value

"""The emulator's long-lived state: keys, the store, and the background tasks (webhooks, renewals and delayed
payments)."""

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path

from . import settlement
from .clock import renew_real_time
from .config import EmulatorConfig
from .context import Context
from .errors import missing
from .ids import random_token
from .store import Store
from .webhooks import WebhookWorker, set_threadsafe

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
        # Keys the card and bank account fingerprints, so they say nothing about the numbers.
        self.fingerprint_secret = _secret_file(
            data_dir / 'stripe-emulator-fingerprint-secret', lambda: random_token(48)
        )
        self.store = Store(data_dir / 'stripe-emulator.sqlite3')
        self._worker: WebhookWorker | None = None
        self._tasks: list[asyncio.Task] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweep_wake: asyncio.Event | None = None

    def context(self, *, request_id: str | None = None, idempotency_key: str | None = None) -> Context:
        return Context(self, request_id=request_id, idempotency_key=idempotency_key)

    async def start(self) -> None:
        """Start webhook delivery, real-time renewals and payment settling on the running loop; calling it twice is
        harmless."""
        if self._tasks:
            return
        if self.config.webhook_url:
            self._worker = WebhookWorker(self.store, self.config, secret=self.webhook_secret)
            self._tasks.append(asyncio.create_task(self._worker.run(), name='stripe-emulator-webhooks'))
        self._loop, self._sweep_wake = asyncio.get_running_loop(), asyncio.Event()
        self._tasks.append(asyncio.create_task(self._sweeps(), name='stripe-emulator-sweeps'))

    async def stop(self) -> None:
        """Stop the background tasks; undelivered webhooks stay queued in the store for the next start."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._worker = None
        self._loop = self._sweep_wake = None

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

    def wake_sweeper(self) -> None:
        """Safe to call from any thread: a delayed payment was scheduled, the sweep may have to wake up earlier."""
        loop, event = self._loop, self._sweep_wake
        if loop is not None and event is not None:
            set_threadsafe(loop, event)

    async def _sweeps(self) -> None:
        """Real time passing: renewals every `renewal_sweep_seconds`, and each delayed payment as it falls due."""
        wake = self._sweep_wake or asyncio.Event()
        while True:
            wake.clear()
            delay = self.config.renewal_sweep_seconds
            try:
                with self.store.transaction():
                    ctx = self.context()
                    renew_real_time(ctx, time.time())
                    if (due := settlement.next_due(ctx)) is not None:
                        delay = min(delay, max(due - time.time(), 0.01))
            except Exception:
                log.exception('real-time renewals or payment settlement failed')
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)


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

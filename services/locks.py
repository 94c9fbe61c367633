"""One lock per key, in this process: what makes read-decide-write steps of one key run one at a time.

Portico runs as one process (NiceGUI refuses several workers), so an asyncio lock is enough. A lock lives only
while some task holds or awaits it, and belongs to the running event loop (the tests start one per test).
"""

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Hashable

_locks: weakref.WeakValueDictionary[tuple, asyncio.Lock] = weakref.WeakValueDictionary()


@contextlib.asynccontextmanager
async def one_at_a_time(*key: Hashable) -> AsyncIterator[None]:
    """Run the block while no other block with the same key runs, e.g. `one_at_a_time('login', email)`."""
    full_key = (asyncio.get_running_loop(), *key)
    lock = _locks.get(full_key)
    if lock is None:
        lock = _locks[full_key] = asyncio.Lock()
    async with lock:
        yield


_semaphores: weakref.WeakValueDictionary[tuple, asyncio.Semaphore] = weakref.WeakValueDictionary()


@contextlib.asynccontextmanager
async def at_most(slots: int, *key: Hashable) -> AsyncIterator[None]:
    """Run the block while fewer than `slots` other blocks with the same key run, e.g. CPU-bound hashing."""
    full_key = (asyncio.get_running_loop(), slots, *key)
    semaphore = _semaphores.get(full_key)
    if semaphore is None:
        semaphore = _semaphores[full_key] = asyncio.Semaphore(slots)
    async with semaphore:
        yield

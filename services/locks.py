"""Locks by key: what makes read-decide-write steps of one key (an organization's billing, one email's logins) run
one at a time.

`Locks` is the interface that `Services` hands out; `InProcessLocks`, asyncio locks in this process, is the one
Portico uses, since it runs as one process (NiceGUI refuses several workers). A version for several processes
(PostgreSQL's `pg_advisory_xact_lock`, say) implements the same `one_at_a_time` and plugs in through
`Services.build(locks=…)` and `use_locks`, without touching callers.
"""

import asyncio
import contextlib
import contextvars
import weakref
from collections.abc import AsyncIterator, Hashable
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class Locks(Protocol):
    def one_at_a_time(self, *key: Hashable) -> AbstractAsyncContextManager[None]:
        """Run the block while no other block with the same key runs; a block may nest inside its own key."""
        ...


# The keys held, and by which task: that task holding a key again does not wait for itself. (Tasks it starts inherit
# the variable, but are other tasks: they wait like anyone else.)
_held: contextvars.ContextVar[frozenset] = contextvars.ContextVar('held_locks', default=frozenset())


class InProcessLocks:
    """asyncio locks, one per key while some task holds or awaits it, per running event loop (tests start one per
    test)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[tuple, asyncio.Lock] = weakref.WeakValueDictionary()

    @contextlib.asynccontextmanager
    async def one_at_a_time(self, *key: Hashable) -> AsyncIterator[None]:
        full_key = (asyncio.get_running_loop(), *key)
        mine = (full_key, asyncio.current_task())
        if mine in _held.get():
            yield  # already ours, further up this task
            return
        lock = self._locks.get(full_key)
        if lock is None:
            lock = self._locks[full_key] = asyncio.Lock()
        async with lock:
            token = _held.set(_held.get() | {mine})
            try:
                yield
            finally:
                _held.reset(token)


_current: Locks = InProcessLocks()


def use_locks(locks: Locks) -> None:
    """Make `locks` what `one_at_a_time` uses everywhere (Services.build does this)."""
    global _current
    _current = locks


def current_locks() -> Locks:
    return _current


def one_at_a_time(*key: Hashable) -> AbstractAsyncContextManager[None]:
    """`current_locks().one_at_a_time(*key)`, e.g. `one_at_a_time('login', email)`."""
    return _current.one_at_a_time(*key)


_semaphores: weakref.WeakValueDictionary[tuple, asyncio.Semaphore] = weakref.WeakValueDictionary()


@contextlib.asynccontextmanager
async def at_most(slots: int, *key: Hashable) -> AsyncIterator[None]:
    """Run the block while fewer than `slots` other blocks with the same key run (CPU-bound work in this process,
    such as password hashing, which has nothing to share with other processes)."""
    full_key = (asyncio.get_running_loop(), slots, *key)
    semaphore = _semaphores.get(full_key)
    if semaphore is None:
        semaphore = _semaphores[full_key] = asyncio.Semaphore(slots)
    async with semaphore:
        yield

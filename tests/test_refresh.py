"""pages.refresh.OneAtATime: the live refreshes of an open page never overlap, and a burst of changes costs two runs."""

import asyncio
from contextlib import nullcontext

from nicegui.testing import User

from pages.refresh import OneAtATime


async def test_a_burst_of_changes_during_a_refresh_runs_it_once_more_never_twice_at_once(user: User) -> None:
    later = OneAtATime(nullcontext())  # the client's context, which the page's refreshes run in
    release, running, runs = asyncio.Event(), [], []

    async def refresh() -> None:
        running.append(1)
        assert len(running) == 1, 'two refreshes at once: the older could be shown last'
        runs.append(len(runs) + 1)
        if len(runs) == 1:
            await release.wait()  # the first run is slow: the changes below arrive while it runs
        running.pop()

    later(refresh)
    await asyncio.sleep(0.01)
    assert runs == [1]
    for _ in range(5):
        later(refresh)
    release.set()
    for _ in range(100):
        if not later.asked_again:
            break
        await asyncio.sleep(0.01)
    assert runs == [1, 2] and not running

    later(refresh)  # once idle, a change runs it again
    for _ in range(100):
        if len(runs) == 3 and not later.asked_again:
            break
        await asyncio.sleep(0.01)
    assert runs == [1, 2, 3]

"""Live refreshes of an open page, one run of each at a time."""

from collections.abc import Awaitable, Callable

from nicegui import background_tasks
from nicegui.client import Client

Work = Callable[[], Awaitable[None]]


class OneAtATime:
    """`later(work)` runs `work` in the background, in the client's context, never twice at once: two runs could
    finish out of order and show the older state last (a token balance of 100 after a consumption to 70). A change
    that comes during a run makes it run once more at its end, so a burst of N changes costs two runs, not N."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.asked_again: dict[Work, bool] = {}  # a run under way → whether it was asked for again meanwhile

    def __call__(self, work: Work) -> None:
        if work in self.asked_again:
            self.asked_again[work] = True
            return
        self.asked_again[work] = False
        background_tasks.create(self._run(work), name='refresh an open page')

    async def _run(self, work: Work) -> None:
        try:
            while True:
                with self.client:
                    await work()
                if not self.asked_again[work]:
                    return
                self.asked_again[work] = False
        finally:
            del self.asked_again[work]

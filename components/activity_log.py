"""The "Activity" expander: the latest audit events, each as a sentence (`activity_sentences`), loaded when opened."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.activity_sentences import sentence
from db.models import AuditEvent
from services.moments import long_date


class ActivityLog(ui.expansion):
    def __init__(self, load: Callable[[], Awaitable[list[AuditEvent] | None]]) -> None:
        super().__init__('Activity', icon='history', on_value_change=self._opened)
        self.load = load
        self.classes('w-full bg-white shadow-1 rounded-borders')
        with self:
            self.entries = ui.column().classes('w-full gap-1')

    async def _opened(self) -> None:
        if self.value:
            await self.reload()

    async def reload(self) -> None:
        if not self.value:
            return  # closed: nothing to show, nothing to query
        events = await self.load()
        if events is None:
            return
        self.entries.clear()
        with self.entries:
            if not events:
                ui.label('Nothing has happened yet.').classes('text-grey-7')
            for event in events:
                # The moment beside its sentence, or above it where the two do not fit side by side (a phone).
                with ui.row().classes('w-full items-baseline gap-x-2 gap-y-0'):
                    ui.label(long_date(event.created_at, time=True)).classes('text-grey-7 text-no-wrap')
                    # The whole sentence, wrapped: a word longer than the line (an email, say) breaks, none is cut.
                    entry = ui.label(sentence(event)).classes('min-w-0 break-words').style('flex: 1 1 20rem')
                    entry.mark('activity-entry')

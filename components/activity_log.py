"""The "Activity" expander: the latest audit events, loaded when it is opened."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from db.models import AuditEvent
from services.audit import changes

ACTIONS = {
    'user.added': 'added',
    'user.edited': 'edited',
    'user.enabled': 'enabled',
    'user.disabled': 'disabled',
    'user.deleted': 'deleted',
    'user.password_email_sent': 'sent a password email to',
    'organization.edited': 'edited the organization',
}


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
                with ui.row().classes('w-full no-wrap items-baseline gap-2'):
                    ui.label(event.created_at.strftime('%Y-%m-%d %H:%M:%S')).classes('text-grey-7 text-no-wrap')
                    action = ACTIONS.get(event.action, event.action)
                    target = '' if event.target_type == 'organization' else f' {event.target_label}'
                    ui.label(f'{event.actor_name} {action}{target}')
                    if detail := changes(event.before, event.after):
                        ui.label(detail).classes('text-grey-7 ellipsis')

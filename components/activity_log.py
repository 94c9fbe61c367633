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
    'billing.checkout_started': 'started a checkout for',
    'billing.checkout_completed.subscription': 'confirmed the payment of checkout',
    'billing.checkout_completed.payment': 'confirmed the payment of checkout',
    'billing.checkout_completed.setup': 'confirmed the card saved in checkout',
    'billing.token_checkout_started': 'started a token checkout',
    'billing.subscription_changed': 'changed the subscription',
    'billing.change_refused': 'had a subscription change refused',
    'billing.cancellation_scheduled': 'scheduled the cancellation of',
    'billing.cancellation_removed': 'removed the scheduled cancellation of',
    'billing.card_updated': 'edited the card',
    'billing.default_card_set': 'made this card the default:',
    'billing.card_removed': 'removed the card',
    'billing.resynced': 'resynced billing with Stripe',
    'billing.auto_top_up_set': 'set auto top-up',
    'billing.auto_top_up_off': 'turned auto top-up off',
    'billing.auto_top_up': 'confirmed the auto top-up',
    'billing.auto_top_up_failed': 'refused an auto top-up, which is now off',
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
                    target = (
                        f' {event.target_label}' if event.target_label and event.target_type != 'organization' else ''
                    )
                    ui.label(f'{event.actor_name} {action}{target}')
                    if detail := changes(event.before, event.after):
                        ui.label(detail).classes('text-grey-7 ellipsis')

"""The audit log: every user-management action, organization edit and billing action, with before and after."""

from typing import Any

from db.models import AuditEvent, User

AUDIT_PAGE = 50


async def record(
    *,
    actor: User,
    action: str,
    target_type: str,
    target_id: int | None = None,
    target_label: str = '',
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one event; call it inside the transaction of the change, so both land or neither."""
    return await AuditEvent.create(
        organization_id=actor.organization_id,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:300],
        before=before,
        after=after,
    )


async def record_system(
    *,
    organization_id: int | None,
    action: str,
    target_type: str,
    target_label: str = '',
    after: dict[str, Any] | None = None,
    actor_name: str = 'Stripe',
) -> AuditEvent:
    """An event that no admin of Portico caused directly: a payment confirmed by Stripe's webhook, say. Without an
    organization it concerns the whole Portico (an operator's API key)."""
    return await AuditEvent.create(
        organization_id=organization_id,
        actor_id=None,
        actor_name=actor_name,
        action=action,
        target_type=target_type,
        target_label=target_label[:300],
        after=after,
    )


async def latest(*, organization_id: int, limit: int = AUDIT_PAGE) -> list[AuditEvent]:
    return await AuditEvent.filter(organization_id=organization_id).order_by('-created_at', '-id').limit(limit)


async def actor_of(*, organization_id: int, action: str, target_label: str) -> str | None:
    """Who last recorded `action` on this target: the admin who started a checkout that Stripe completes later."""
    events = AuditEvent.filter(organization_id=organization_id, action=action, target_label=target_label)
    event = await events.order_by('-id').first()
    return event.actor_name if event else None

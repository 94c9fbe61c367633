"""Billing moments that mail someone exactly once (an invoice's first failure, its receipt), whichever delivery of
whichever webhook notes them first."""

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db.models import BillingNotice
from services.events import Events


async def note_once(events: Events, *, organization_id: int, kind: str, reference: str, topic, payload) -> bool:
    """Inside the webhook's transaction: record the moment (unique per kind and reference) and publish `topic` after
    the commit; False, publishing nothing, when it was noted before."""
    if await BillingNotice.exists(kind=kind, reference=reference):
        return False
    try:
        async with in_transaction():  # a savepoint: PostgreSQL would otherwise abort the webhook's transaction
            await BillingNotice.create(organization_id=organization_id, kind=kind, reference=reference)
    except IntegrityError:
        return False  # noted by a parallel delivery just now
    events.publish(topic, payload)
    return True

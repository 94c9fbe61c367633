"""What every change of plan, interval or seats checks first, whether it applies now (`subscriptions`) or at the
period's end (`schedules`), and how the audit log summarises it."""

from db.models import SubscriptionMirror
from services.billing.catalog import CatalogSync
from services.billing.context import BillingContext, Contexts
from services.billing.mirror import cancellation_scheduled, seats_in_use
from services.errors import PermissionDenied, ValidationFailed
from services.plans import Interval, Plan, check_seats


async def validated_change(
    contexts: Contexts, prices: CatalogSync, context: BillingContext, plan_id: str, interval: str, seats: int
) -> tuple[Plan, str]:
    """The plan and the Stripe price of a change the caller may make; field errors or a refusal otherwise."""
    if cancellation_scheduled(context.subscription):
        raise PermissionDenied('Remove the scheduled cancellation before changing the subscription.')
    plan = contexts.plan(plan_id)
    if plan is None:
        raise ValidationFailed({'plan': 'Choose one of the plans.'})
    if Interval.of(interval) not in plan.prices:
        raise ValidationFailed({'interval': f'Choose {" or ".join(i.label for i in plan.intervals)}.'})
    check_seats(plan, seats, enabled=await seats_in_use(context.organization.id))
    subscription = context.subscription
    if (plan_id, interval, seats) == (subscription.plan_id, subscription.interval, subscription.seats):
        raise ValidationFailed({'seats': 'This is your current subscription: change the plan, interval or seats.'})
    return plan, await prices.price_id(plan.lookup_key(interval))


def token_warning(context: BillingContext, plan: Plan) -> str | None:
    if context.plan and context.plan.uses_tokens and not plan.uses_tokens and context.account.token_balance > 0:
        return (
            f'You have {context.account.token_balance:,} unused tokens. They stay on your balance, but they cannot '
            f'be spent on {plan.name}. They become usable again if you return to {context.plan.name}.'
        )
    return None


def summary(subscription: SubscriptionMirror) -> dict:
    return {'plan': subscription.plan_id, 'interval': subscription.interval, 'seats': subscription.seats,
            'cancel_at_period_end': subscription.cancel_at_period_end}  # fmt: skip


def change_summary(plan: Plan, interval: str, seats: int) -> dict:
    return {'plan': plan.id, 'plan_name': plan.name, 'interval': interval, 'seats': seats}

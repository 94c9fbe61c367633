"""Portico's mirror of Stripe: the billing account, the subscription, the token ledger, webhooks and checkouts."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class BillingAccount(Model):
    """An organization's Stripe customer, its token balance, and the revision used in idempotency keys."""

    id = fields.IntField(primary_key=True)
    organization = fields.OneToOneField('models.Organization', related_name='billing', on_delete=fields.CASCADE)
    stripe_customer_id = fields.CharField(max_length=255, unique=True, null=True)
    # Bumped after every billing change, so the next change gets new idempotency keys while retries reuse them.
    revision = fields.IntField(default=0)
    token_balance = fields.BigIntField(default=0)
    # "Alert me below N tokens": crossing it once mails the admins once; a top-up above it arms the alert again.
    low_balance_threshold = fields.BigIntField(null=True)
    low_balance_alerted = fields.BooleanField(default=False)
    # "Auto top-up": below this many tokens (None: off), buy this many packs with the default card, at most this
    # many times per calendar month. Armed again once the balance is back above the threshold; why it was switched
    # off, if a purchase failed.
    auto_topup_below = fields.BigIntField(null=True)
    auto_topup_packs = fields.IntField(default=1, db_default=1)
    auto_topup_monthly_cap = fields.IntField(default=3, db_default=3)
    auto_topup_armed = fields.BooleanField(default=True, db_default=True)
    auto_topup_error = fields.CharField(max_length=500, default='', db_default='')

    class Meta:
        table = 'billing_accounts'


class SubscriptionMirror(Model):
    """Portico's copy of the organization's Stripe subscription. Pages read only this, never Stripe."""

    id = fields.IntField(primary_key=True)
    organization = fields.OneToOneField('models.Organization', related_name='subscription', on_delete=fields.CASCADE)
    stripe_subscription_id = fields.CharField(max_length=255, unique=True)
    plan_id = fields.CharField(max_length=50)
    interval = fields.CharField(max_length=10)
    status = fields.CharField(max_length=30)
    seats = fields.IntField()
    price_id = fields.CharField(max_length=255, default='')
    item_id = fields.CharField(max_length=255, default='')
    current_period_end = fields.DatetimeField(null=True)
    cancel_at_period_end = fields.BooleanField(default=False)
    cancel_at = fields.DatetimeField(null=True)
    trial_end = fields.DatetimeField(null=True)
    default_payment_method = fields.CharField(max_length=255, null=True)
    # While a payment is owed (past due or unpaid): since when, the open invoice, and what Stripe said of it.
    past_due_since = fields.DatetimeField(null=True)
    open_invoice_id = fields.CharField(max_length=255, default='', db_default='')
    open_invoice_amount = fields.BigIntField(default=0, db_default=0)
    open_invoice_currency = fields.CharField(max_length=3, default='', db_default='')
    next_payment_attempt = fields.DatetimeField(null=True)
    payment_error = fields.CharField(max_length=500, default='', db_default='')
    # A payment that waits for 3-D Secure: where the admin confirms it, and the change it holds back, if any.
    payment_action_url = fields.CharField(max_length=2000, default='', db_default='')
    pending_change = fields.CharField(max_length=200, default='', db_default='')
    # Paused for some billing periods: when Portico resumes it (None: until an admin does).
    pause_resumes_at = fields.DatetimeField(null=True)
    # A change at the period's end (a subscription schedule's next phase): what it becomes, and when.
    schedule_id = fields.CharField(max_length=255, default='', db_default='')
    scheduled_plan_id = fields.CharField(max_length=50, default='', db_default='')
    scheduled_interval = fields.CharField(max_length=10, default='', db_default='')
    scheduled_seats = fields.IntField(null=True)
    scheduled_at = fields.DatetimeField(null=True)
    synced_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'subscriptions'


class BillingNotice(Model):
    """A mail the admins got about a billing moment (a failed invoice, say): unique per moment, so a webhook that
    arrives twice, or a retry that fails again, never mails them twice."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField('models.Organization', related_name=False, on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=30)
    reference = fields.CharField(max_length=300)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'billing_notices'
        unique_together = (('kind', 'reference'),)


class TokenLedgerEntry(Model):
    """One change of an organization's token balance. A purchase is unique per checkout session, anything else
    (a refund, a lost dispute, a failed payment) per its cause, so no webhook is ever counted twice."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField('models.Organization', related_name='token_entries', on_delete=fields.CASCADE)
    delta = fields.BigIntField()
    kind = fields.CharField(max_length=20)
    checkout_session_id = fields.CharField(max_length=255, unique=True, null=True)
    reference = fields.CharField(max_length=300, unique=True, null=True)
    description = fields.CharField(max_length=300, default='')
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'token_ledger'
        indexes = (Index(fields=('organization_id', 'created_at'), name='token_ledger_org_created'),)


class StripeEvent(Model):
    """A received webhook, stored before it is handled, so a repeat is recognized and ignored."""

    id = fields.CharField(max_length=255, primary_key=True)
    type = fields.CharField(max_length=100)
    payload = fields.JSONField()
    received_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(default='')

    class Meta:
        table = 'stripe_events'


class CheckoutFulfillment(Model):
    """A completed Checkout session that Portico has acted on: the guard that makes fulfilment happen once."""

    session_id = fields.CharField(max_length=255, primary_key=True)
    organization = fields.ForeignKeyField('models.Organization', related_name=False, on_delete=fields.CASCADE)
    mode = fields.CharField(max_length=20)
    fulfilled_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'checkout_fulfillments'


class ChangePreview(Model):
    """The proration date of a change an admin was shown, so that "Confirm" charges exactly what the preview said,
    even after a restart. One per organization and target; it expires with the preview's validity."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField('models.Organization', related_name=False, on_delete=fields.CASCADE)
    plan_id = fields.CharField(max_length=50)
    interval = fields.CharField(max_length=10)
    seats = fields.IntField()
    proration_date = fields.BigIntField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = 'change_previews'
        unique_together = (('organization_id', 'plan_id', 'interval', 'seats'),)

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields



class AddColumnDroppedInPlace(ops.AddField):
    """Undone with a plain DROP COLUMN, so SQLite keeps the table (and its unique indexes) instead of rebuilding it."""

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor:
            table = {'SubscriptionMirror': 'subscriptions', 'BillingAccount': 'billing_accounts'}[self.model_name]
            await state_editor._run_sql(f'ALTER TABLE "{table}" DROP COLUMN "{self.name}"')


class Migration(migrations.Migration):
    dependencies = [('models', '0010_receipt_emails')]

    initial = False

    operations = [
        AddColumnDroppedInPlace(
            model_name='BillingAccount',
            name='auto_topup_armed',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        AddColumnDroppedInPlace(
            model_name='BillingAccount',
            name='auto_topup_below',
            field=fields.BigIntField(null=True),
        ),
        AddColumnDroppedInPlace(
            model_name='BillingAccount',
            name='auto_topup_error',
            field=fields.CharField(default='', db_default='', max_length=500),
        ),
        AddColumnDroppedInPlace(
            model_name='BillingAccount',
            name='auto_topup_monthly_cap',
            field=fields.IntField(default=3, db_default=3),
        ),
        AddColumnDroppedInPlace(
            model_name='BillingAccount',
            name='auto_topup_packs',
            field=fields.IntField(default=1, db_default=1),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='pause_resumes_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='payment_action_url',
            field=fields.CharField(default='', db_default='', max_length=2000),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='pending_change',
            field=fields.CharField(default='', db_default='', max_length=200),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='schedule_id',
            field=fields.CharField(default='', db_default='', max_length=255),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='scheduled_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='scheduled_interval',
            field=fields.CharField(default='', db_default='', max_length=10),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='scheduled_plan_id',
            field=fields.CharField(default='', db_default='', max_length=50),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='scheduled_seats',
            field=fields.IntField(null=True),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields



class AddColumnDroppedInPlace(ops.AddField):
    """Undone with a plain DROP COLUMN, so SQLite keeps the table (and its unique indexes) instead of rebuilding it."""

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor:
            await state_editor._run_sql(f'ALTER TABLE "subscriptions" DROP COLUMN "{self.name}"')


class Migration(migrations.Migration):
    dependencies = [('models', '0008_sign_in_with_portico')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BillingNotice',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=30)),
                ('reference', fields.CharField(max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'billing_notices', 'app': 'models', 'unique_together': (('kind', 'reference'),), 'pk_attr': 'id', 'table_description': 'A mail the admins got about a billing moment (a failed invoice, say): unique per moment, so a webhook that'},
            bases=['Model'],
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='next_payment_attempt',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='open_invoice_amount',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='open_invoice_currency',
            field=fields.CharField(default='', db_default='', max_length=3),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='open_invoice_id',
            field=fields.CharField(default='', db_default='', max_length=255),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='past_due_since',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AddColumnDroppedInPlace(
            model_name='SubscriptionMirror',
            name='payment_error',
            field=fields.CharField(default='', db_default='', max_length=500),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_user_management')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BillingAccount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.OneToOneField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='billing', on_delete=OnDelete.CASCADE)),
                ('stripe_customer_id', fields.CharField(null=True, unique=True, max_length=255)),
                ('revision', fields.IntField(default=0)),
                ('token_balance', fields.BigIntField(default=0)),
            ],
            options={'table': 'billing_accounts', 'app': 'models', 'pk_attr': 'id', 'table_description': "An organization's Stripe customer, its token balance, and the revision used in idempotency keys."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CheckoutFulfillment',
            fields=[
                ('session_id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('mode', fields.CharField(max_length=20)),
                ('fulfilled_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'checkout_fulfillments', 'app': 'models', 'pk_attr': 'session_id', 'table_description': 'A completed Checkout session that Portico has acted on: the guard that makes fulfilment happen once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StripeEvent',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('type', fields.CharField(max_length=100)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'stripe_events', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A received webhook, stored before it is handled, so a repeat is recognized and ignored.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SubscriptionMirror',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.OneToOneField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='subscription', on_delete=OnDelete.CASCADE)),
                ('stripe_subscription_id', fields.CharField(unique=True, max_length=255)),
                ('plan_id', fields.CharField(max_length=50)),
                ('interval', fields.CharField(max_length=10)),
                ('status', fields.CharField(max_length=30)),
                ('seats', fields.IntField()),
                ('price_id', fields.CharField(default='', max_length=255)),
                ('item_id', fields.CharField(default='', max_length=255)),
                ('current_period_end', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancel_at_period_end', fields.BooleanField(default=False)),
                ('cancel_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('trial_end', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('default_payment_method', fields.CharField(null=True, max_length=255)),
                ('synced_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'subscriptions', 'app': 'models', 'pk_attr': 'id', 'table_description': "Portico's copy of the organization's Stripe subscription. Pages read only this, never Stripe."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TokenLedgerEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='token_entries', on_delete=OnDelete.CASCADE)),
                ('delta', fields.BigIntField()),
                ('kind', fields.CharField(max_length=20)),
                ('checkout_session_id', fields.CharField(null=True, unique=True, max_length=255)),
                ('description', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'token_ledger', 'app': 'models', 'indexes': [Index(fields=['organization_id', 'created_at'], name='token_ledger_org_created')], 'pk_attr': 'id', 'table_description': "One change of an organization's token balance. A purchase is unique per checkout session."},
            bases=['Model'],
        ),
    ]

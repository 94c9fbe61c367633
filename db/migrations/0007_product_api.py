from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_change_previews')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ApiIdempotency',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=255)),
                ('request_digest', fields.CharField(max_length=64)),
                ('status', fields.IntField()),
                ('response', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'api_idempotency', 'app': 'models', 'unique_together': (('organization_id', 'key'),), 'indexes': [Index(fields=['created_at'], name='api_idempotency_created')], 'pk_attr': 'id', 'table_description': 'A token consumption or grant by idempotency key: the same key and body get the first answer again.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('prefix', fields.CharField(unique=True, max_length=20)),
                ('digest', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_keys', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A server-side key of the product API. Only its SHA-256 is kept, and the prefix names it in lists and logs.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProductState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.OneToOneField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('entitlements', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'product_states', 'app': 'models', 'pk_attr': 'id', 'table_description': "What the product was last told of an organization's entitlements, so a change is told once."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProductWebhook',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message_id', fields.CharField(unique=True, max_length=40)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('organization_key', fields.IntField(default=0)),
                ('type', fields.CharField(max_length=50)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'product_webhooks', 'app': 'models', 'indexes': [Index(fields=['delivered_at', 'failed_at', 'organization_key', 'id'], name='product_webhooks_queue')], 'pk_attr': 'id', 'table_description': 'An event for the product, queued in the transaction of the change it tells of, delivered in order per'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='AuditEvent',
            name='organization',
            field=fields.ForeignKeyField('models.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name='audit_events', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='BillingAccount',
            name='low_balance_alerted',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='BillingAccount',
            name='low_balance_threshold',
            field=fields.BigIntField(null=True),
        ),
    ]

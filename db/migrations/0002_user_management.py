from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='audit_events', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('actor_name', fields.CharField(max_length=200)),
                ('action', fields.CharField(max_length=50)),
                ('target_type', fields.CharField(max_length=30)),
                ('target_id', fields.IntField(null=True)),
                ('target_label', fields.CharField(default='', max_length=300)),
                ('before', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('after', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'audit_events', 'app': 'models', 'indexes': [Index(fields=['organization_id', 'created_at'], name='audit_org_created')], 'pk_attr': 'id', 'table_description': 'Who did what to whom, and when, with the values before and after. Kept for later export.'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='User',
            index=Index(fields=['organization_id', 'name'], name='users_org_name'),
        ),
        ops.AddIndex(
            model_name='User',
            index=Index(fields=['organization_id', 'email'], name='users_org_email'),
        ),
        ops.AddIndex(
            model_name='User',
            index=Index(fields=['organization_id', 'last_login_at'], name='users_org_last_login'),
        ),
        ops.AddIndex(
            model_name='User',
            index=Index(fields=['organization_id', 'is_enabled', 'role'], name='users_org_enabled_role'),
        ),
    ]

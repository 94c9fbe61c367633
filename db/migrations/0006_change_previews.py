from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_sessions_and_limits')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChangePreview',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('plan_id', fields.CharField(max_length=50)),
                ('interval', fields.CharField(max_length=10)),
                ('seats', fields.IntField()),
                ('proration_date', fields.BigIntField()),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'change_previews', 'app': 'models', 'unique_together': (('organization_id', 'plan_id', 'interval', 'seats'),), 'pk_attr': 'id', 'table_description': 'The proration date of a change an admin was shown, so that "Confirm" charges exactly what the preview said,'},
            bases=['Model'],
        ),
    ]

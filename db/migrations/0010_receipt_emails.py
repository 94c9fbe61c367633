from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class AddColumnDroppedInPlace(ops.AddField):
    """Undone with a plain DROP COLUMN, so SQLite keeps the table (and its unique indexes) instead of rebuilding it."""

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor:
            await state_editor._run_sql(f'ALTER TABLE "organizations" DROP COLUMN "{self.name}"')


class Migration(migrations.Migration):
    dependencies = [('models', '0009_payment_recovery')]

    initial = False

    operations = [
        AddColumnDroppedInPlace(
            model_name='Organization',
            name='receipt_emails',
            field=fields.CharField(default='', db_default='', max_length=800),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

BATCH = 1000


async def fill_search_text(apps, schema_editor) -> None:
    """Case-fold the name and email of the users that exist already, as User.save() does for new ones."""
    from db.models import user_search_text

    client = schema_editor.client
    mark = '${}' if client.capabilities.dialect == 'postgres' else '?'
    update = f'UPDATE users SET search_text = {mark.format(1)} WHERE id = {mark.format(2)}'
    last_id = 0
    while True:
        _, rows = await client.execute_query(
            f'SELECT id, name, email FROM users WHERE id > {mark.format(1)} ORDER BY id LIMIT {BATCH}', [last_id]
        )
        if not rows:
            return
        await client.execute_many(update, [[user_search_text(row['name'], row['email']), row['id']] for row in rows])
        last_id = rows[-1]['id']


class Migration(migrations.Migration):
    dependencies = [('models', '0003_billing_mirror')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='User',
            name='users_org_name',
            fields=None,
        ),
        ops.RemoveIndex(
            model_name='User',
            name='users_org_email',
            fields=None,
        ),
        ops.RemoveIndex(
            model_name='User',
            name='users_org_last_login',
            fields=None,
        ),
        ops.AddField(
            model_name='User',
            name='search_text',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.RunPython(fill_search_text, ops.RunPython.noop),
        ops.AddIndex(
            model_name='User',
            index=Index(fields=['organization_id', 'name', 'search_text'], name='users_org_name_search'),
        ),
        ops.AddIndex(
            model_name='User',
            index=Index(fields=['organization_id', 'email', 'search_text'], name='users_org_email_search'),
        ),
        ops.AddIndex(
            model_name='User',
            index=Index(fields=['organization_id', 'last_login_at', 'search_text'], name='users_org_last_login_search'),
        ),
    ]

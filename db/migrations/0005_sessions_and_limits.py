from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

LINK = r'/set-password/([A-Za-z0-9_-]+)'


async def withhold_kept_links(apps, schema_editor) -> None:
    """Older versions kept set-password links in the outbox (and the log). Those links stop working, and the
    outbox keeps who, what and when only. An admin hands out a new link with "Resend password email"."""
    import hashlib
    import re
    from datetime import UTC, datetime

    from services.mail import WITHHELD

    client = schema_editor.client
    postgres = client.capabilities.dialect == 'postgres'
    mark = '${}' if postgres else '?'
    moment = datetime.now(UTC) if postgres else datetime.now(UTC).isoformat(sep=' ')  # as Tortoise writes it
    _, rows = await client.execute_query('SELECT id, text, html FROM outbox_mails')
    for row in rows:
        tokens = set(re.findall(LINK, row['text'])) | set(re.findall(LINK, row['html']))
        for token in tokens:
            await client.execute_query(
                f'UPDATE password_tokens SET used_at = {mark.format(1)} WHERE token_hash = {mark.format(2)} '
                'AND used_at IS NULL',
                [moment, hashlib.sha256(token.encode()).hexdigest()],
            )
        if tokens:
            text = re.sub(r'https?://\S*' + LINK, WITHHELD, row['text'])
            html = re.sub(r'https?://[^"<\s]*' + LINK, WITHHELD, row['html'])
            await client.execute_query(
                f'UPDATE outbox_mails SET text = {mark.format(1)}, html = {mark.format(2)} WHERE id = {mark.format(3)}',
                [text, html, row['id']],
            )


class Migration(migrations.Migration):
    dependencies = [('models', '0004_user_search_text')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LoginSession',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('ticket_digest', fields.CharField(null=True, unique=True, max_length=64)),
                ('browser_digest', fields.CharField(default='', max_length=64)),
                ('key_digest', fields.CharField(null=True, unique=True, max_length=64)),
                ('client_address', fields.CharField(default='', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('idle_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sessions', 'app': 'models', 'indexes': [Index(fields=['user_id', 'ended_at'], name='sessions_user_open')], 'pk_attr': 'id', 'table_description': "A browser's login. The browser's signed cookie holds the key, and only its SHA-256 is kept here."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RateHit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharField(max_length=30)),
                ('key', fields.CharField(max_length=254)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'rate_hits', 'app': 'models', 'indexes': [Index(fields=['scope', 'key', 'at'], name='rate_hits_scope_key_at')], 'pk_attr': 'id', 'table_description': 'One counted request of a limited kind (a failed login from an address, a reset request for an email).'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='LoginThrottle',
            index=Index(fields=['window_start'], name='login_throttles_window'),
        ),
        ops.AlterModelOptions(
            name='OutboxMail',
            options={'table': 'outbox_mails', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Mail that was not sent because no SMTP server is configured: who, what and when, never the link itself.'},
        ),
        ops.AddField(
            model_name='TokenLedgerEntry',
            name='reference',
            field=fields.CharField(null=True, unique=True, max_length=300),
        ),
        ops.AlterModelOptions(
            name='TokenLedgerEntry',
            options={'table': 'token_ledger', 'app': 'models', 'indexes': [Index(fields=['organization_id', 'created_at'], name='token_ledger_org_created')], 'pk_attr': 'id', 'table_description': 'One change of an organization\'s token balance. A purchase is unique per checkout session, anything else'},
        ),
        ops.RunPython(withhold_kept_links, ops.RunPython.noop),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class AddColumnDroppedInPlace(ops.AddField):
    """Undone with a plain DROP COLUMN: Tortoise's SQLite editor would rebuild `users` and lose the indexes that
    0004 made, so that undoing 0004 afterwards fails."""

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor:
            await state_editor._run_sql(f'ALTER TABLE "users" DROP COLUMN "{self.name}"')


class Migration(migrations.Migration):
    dependencies = [('models', '0007_product_api')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OidcClient',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client_id', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('secret_digest', fields.CharField(max_length=64)),
                ('redirect_uris', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('post_logout_redirect_uris', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('backchannel_logout_uri', fields.CharField(default='', max_length=2000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'oidc_clients', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A product that signs its users in with Portico (a confidential, first-party client).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OidcCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('digest', fields.CharField(unique=True, max_length=64)),
                ('client', fields.ForeignKeyField('models.OidcClient', source_field='client_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('redirect_uri', fields.CharField(max_length=2000)),
                ('scope', fields.CharField(max_length=200)),
                ('nonce', fields.CharField(default='', max_length=255)),
                ('code_challenge', fields.CharField(max_length=128)),
                ('code_challenge_method', fields.CharField(max_length=10)),
                ('auth_time', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('family', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'oidc_codes', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An authorization code: valid 60 s, claimed once by a conditional update.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OidcToken',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('family', fields.CharField(max_length=64)),
                ('client', fields.ForeignKeyField('models.OidcClient', source_field='client_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('scope', fields.CharField(max_length=200)),
                ('access_digest', fields.CharField(unique=True, max_length=64)),
                ('refresh_digest', fields.CharField(null=True, unique=True, max_length=64)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('access_expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('refresh_expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('auth_time', fields.BigIntField(default=0)),
                ('rotated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'oidc_tokens', 'app': 'models', 'indexes': [Index(fields=['family'], name='oidc_tokens_family'), Index(fields=['user_id', 'revoked_at'], name='oidc_tokens_user')], 'pk_attr': 'id', 'table_description': 'One issue of tokens: a JWT access token (5 minutes) and a refresh token that rotates on every use.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ProductWebhook',
            name='kind',
            field=fields.CharField(default='webhook', db_default='webhook', max_length=20),
        ),
        ops.AddField(
            model_name='ProductWebhook',
            name='target',
            field=fields.CharField(default='', db_default='', max_length=2000),
        ),
        AddColumnDroppedInPlace(
            model_name='User',
            name='email_verified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]

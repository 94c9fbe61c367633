"""Sign in with Portico: the OpenID Connect clients (the products), their authorization codes and their tokens.

Secrets, codes and tokens are kept only as SHA-256 digests: a copy of the database signs no one in.
"""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class OidcClient(Model):
    """A product that signs its users in with Portico (a confidential, first-party client)."""

    id = fields.IntField(primary_key=True)
    client_id = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100, unique=True)
    secret_digest = fields.CharField(max_length=64)
    redirect_uris = fields.JSONField(default=list)
    post_logout_redirect_uris = fields.JSONField(default=list)
    backchannel_logout_uri = fields.CharField(max_length=2000, default='')
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = 'oidc_clients'


class OidcCode(Model):
    """An authorization code: valid 60 s, claimed once by a conditional update."""

    id = fields.BigIntField(primary_key=True)
    digest = fields.CharField(max_length=64, unique=True)
    client = fields.ForeignKeyField('models.OidcClient', related_name=False, on_delete=fields.CASCADE)
    user = fields.ForeignKeyField('models.User', related_name=False, on_delete=fields.CASCADE)
    redirect_uri = fields.CharField(max_length=2000)
    scope = fields.CharField(max_length=200)
    nonce = fields.CharField(max_length=255, default='')
    code_challenge = fields.CharField(max_length=128)
    code_challenge_method = fields.CharField(max_length=10)
    auth_time = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    family = fields.CharField(max_length=64, default='')  # the tokens it was exchanged for

    class Meta:
        table = 'oidc_codes'


class OidcToken(Model):
    """One issue of tokens: a JWT access token (5 minutes) and a refresh token that rotates on every use.

    Every rotation of one sign-in shares its `family`; replaying a rotated refresh token revokes the family.
    """

    id = fields.BigIntField(primary_key=True)
    family = fields.CharField(max_length=64)
    client = fields.ForeignKeyField('models.OidcClient', related_name=False, on_delete=fields.CASCADE)
    user = fields.ForeignKeyField('models.User', related_name=False, on_delete=fields.CASCADE)
    scope = fields.CharField(max_length=200)
    access_digest = fields.CharField(max_length=64, unique=True)
    refresh_digest = fields.CharField(max_length=64, unique=True, null=True)
    issued_at = fields.DatetimeField()
    access_expires_at = fields.DatetimeField()
    refresh_expires_at = fields.DatetimeField()
    auth_time = fields.BigIntField(default=0)
    rotated_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = 'oidc_tokens'
        indexes = (
            Index(fields=('family',), name='oidc_tokens_family'),
            Index(fields=('user_id', 'revoked_at'), name='oidc_tokens_user'),
        )

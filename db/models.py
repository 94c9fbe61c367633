"""Portico's tables. Stripe's own state is mirrored in billing models added by the billing issues."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    ADMIN = 'admin'
    MEMBER = 'member'


class Organization(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    billing_email = fields.CharField(max_length=254, default='')
    address_line1 = fields.CharField(max_length=200, default='')
    address_line2 = fields.CharField(max_length=200, default='')
    postal_code = fields.CharField(max_length=20, default='')
    city = fields.CharField(max_length=100, default='')
    country = fields.CharField(max_length=2, default='')
    tax_id = fields.CharField(max_length=32, default='')
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'organizations'


class User(Model):
    id = fields.IntField(primary_key=True)
    organization = fields.ForeignKeyField('models.Organization', related_name='users', on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    # Stored lower-cased, so the unique index makes addresses unique case-insensitively.
    email = fields.CharField(max_length=254, unique=True)
    role = fields.CharEnumField(Role, max_length=10, default=Role.MEMBER)
    is_enabled = fields.BooleanField(default=True)
    password_hash = fields.CharField(max_length=255, null=True)
    # Every session stores the epoch it was opened with; bumping it ends all of them at once.
    session_epoch = fields.IntField(default=0)
    last_login_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'users'

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class PasswordToken(Model):
    """A single-use link to set a password. Only the SHA-256 of the token is kept."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField('models.User', related_name='password_tokens', on_delete=fields.CASCADE)
    token_hash = fields.CharField(max_length=64, unique=True)
    purpose = fields.CharField(max_length=10)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'password_tokens'


class LoginThrottle(Model):
    """Failed logins per email address, kept whether or not the address exists."""

    email = fields.CharField(max_length=254, primary_key=True)
    failures = fields.IntField(default=0)
    window_start = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)

    class Meta:
        table = 'login_throttles'


class OutboxMail(Model):
    """Mail kept when no SMTP server is configured, so the operator can still hand the link over."""

    id = fields.IntField(primary_key=True)
    recipient = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=300)
    text = fields.TextField()
    html = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'outbox_mails'

"""Organizations, their users, and what keeps their accounts: sessions, password links, limits, mail, audit."""

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class Role(StrEnum):
    ADMIN = 'admin'
    MEMBER = 'member'


class Organization(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    billing_email = fields.CharField(max_length=254, default='')
    # Up to 3 more addresses, comma-separated, that get each receipt along with the billing email.
    receipt_emails = fields.CharField(max_length=800, default='', db_default='')
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
    # When the user set a password with a link mailed to this address: the proof that the email is theirs.
    email_verified_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # Name and email case-folded by Python, kept up to date by save(): "Search users" then ignores case for every
    # alphabet on every database (SQLite's own LIKE folds only A to Z).
    search_text = fields.TextField(default='', db_default='')

    class Meta:
        table = 'users'
        # The user list pages and sorts within one organization; these keep a page of 100,000 users quick. The
        # search text rides along in the name and email indexes, so a search reads the index, not every row.
        indexes = (
            Index(fields=('organization_id', 'name', 'search_text'), name='users_org_name_search'),
            Index(fields=('organization_id', 'email', 'search_text'), name='users_org_email_search'),
            Index(fields=('organization_id', 'last_login_at', 'search_text'), name='users_org_last_login_search'),
            Index(fields=('organization_id', 'is_enabled', 'role'), name='users_org_enabled_role'),
        )

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    async def save(self, *args, **kwargs) -> None:
        self.search_text = user_search_text(self.name, self.email)
        update_fields = kwargs.get('update_fields')
        if update_fields is not None and ({'name', 'email'} & set(update_fields)):
            kwargs['update_fields'] = [*update_fields, 'search_text']
        await super().save(*args, **kwargs)


def user_search_text(name: str, email: str) -> str:
    """What "Search users" looks in: the name and the email, case-folded (so "STRASSE" finds "Straße")."""
    return f'{name}\n{email}'.casefold()


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


class LoginSession(Model):
    """A browser's login. The browser's signed cookie holds the key, and only its SHA-256 is kept here.

    A login first exists as a pending ticket (the password was right), and becomes a session when the browser
    that typed the password claims it over HTTP, which is where a new cookie (and browser id) can be set.
    """

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField('models.User', related_name='sessions', on_delete=fields.CASCADE)
    ticket_digest = fields.CharField(max_length=64, unique=True, null=True)
    browser_digest = fields.CharField(max_length=64, default='')
    key_digest = fields.CharField(max_length=64, unique=True, null=True)
    client_address = fields.CharField(max_length=64, default='')
    created_at = fields.DatetimeField(auto_now_add=True)
    # The session ends at the first of these; a request moves idle_until on (see services.auth.touch_session).
    expires_at = fields.DatetimeField()
    idle_until = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = 'sessions'
        indexes = (Index(fields=('user_id', 'ended_at'), name='sessions_user_open'),)


class RateHit(Model):
    """One counted request of a limited kind (a failed login from an address, a reset request for an email).

    Limits count the hits of a key within their window; hits older than the longest window are removed.
    """

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=30)
    key = fields.CharField(max_length=254)
    at = fields.DatetimeField()

    class Meta:
        table = 'rate_hits'
        indexes = (Index(fields=('scope', 'key', 'at'), name='rate_hits_scope_key_at'),)


class LoginThrottle(Model):
    """Failed logins per email address, kept whether or not the address exists."""

    email = fields.CharField(max_length=254, primary_key=True)
    failures = fields.IntField(default=0)
    window_start = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)

    class Meta:
        table = 'login_throttles'
        indexes = (Index(fields=('window_start',), name='login_throttles_window'),)


class OutboxMail(Model):
    """Mail that was not sent because no SMTP server is configured: who, what and when, never the link itself."""

    id = fields.IntField(primary_key=True)
    recipient = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=300)
    text = fields.TextField()
    html = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'outbox_mails'


class AuditEvent(Model):
    """Who did what to whom, and when, with the values before and after. Kept for later export."""

    id = fields.BigIntField(primary_key=True)
    # None for what concerns the whole Portico, not one organization (an operator's API key, say).
    organization = fields.ForeignKeyField(
        'models.Organization', related_name='audit_events', null=True, on_delete=fields.CASCADE
    )
    actor = fields.ForeignKeyField('models.User', related_name=False, null=True, on_delete=fields.SET_NULL)
    # Names are copied, so the log stays readable after a user is deleted.
    actor_name = fields.CharField(max_length=200)
    action = fields.CharField(max_length=50)
    target_type = fields.CharField(max_length=30)
    target_id = fields.IntField(null=True)
    target_label = fields.CharField(max_length=300, default='')
    before = fields.JSONField(null=True)
    after = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'audit_events'
        indexes = (Index(fields=('organization_id', 'created_at'), name='audit_org_created'),)

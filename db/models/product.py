"""What the product Portico administers uses: API keys, idempotent requests, webhooks to the product."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class ApiKey(Model):
    """A server-side key of the product API. Only its SHA-256 is kept, and the prefix names it in lists and logs."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    prefix = fields.CharField(max_length=20, unique=True)
    digest = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = 'api_keys'


class ApiIdempotency(Model):
    """A token consumption or grant by idempotency key: the same key and body get the first answer again."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField('models.Organization', related_name=False, on_delete=fields.CASCADE)
    key = fields.CharField(max_length=255)
    request_digest = fields.CharField(max_length=64)
    status = fields.IntField()
    response = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'api_idempotency'
        unique_together = (('organization_id', 'key'),)
        indexes = (Index(fields=('created_at',), name='api_idempotency_created'),)


class ProductWebhook(Model):
    """An event for the product, queued in the transaction of the change it tells of, delivered in order per
    organization (signed with Standard Webhooks), and retried with back-off for three days."""

    id = fields.BigIntField(primary_key=True)
    message_id = fields.CharField(max_length=40, unique=True)
    organization = fields.ForeignKeyField('models.Organization', related_name=False, null=True,
                                          on_delete=fields.SET_NULL)  # fmt: skip
    organization_key = fields.IntField(default=0)  # the organization's id, kept after it is deleted: the order
    type = fields.CharField(max_length=50)
    payload = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default='')
    # A back-channel logout for an OpenID Connect client (services.oidc) rides the same queue, to its own address.
    kind = fields.CharField(max_length=20, default='webhook', db_default='webhook')
    target = fields.CharField(max_length=2000, default='', db_default='')

    class Meta:
        table = 'product_webhooks'
        indexes = (
            Index(fields=('delivered_at', 'failed_at', 'organization_key', 'id'), name='product_webhooks_queue'),
        )


class ProductState(Model):
    """What the product was last told of an organization's entitlements, so a change is told once."""

    id = fields.IntField(primary_key=True)
    organization = fields.OneToOneField('models.Organization', related_name=False, on_delete=fields.CASCADE)
    entitlements = fields.JSONField()

    class Meta:
        table = 'product_states'

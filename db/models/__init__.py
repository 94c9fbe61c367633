"""Portico's tables, by area. Tortoise finds the models here (`db.config`: `'models': ['db.models']`)."""

from db.models.billing import (
    BillingAccount,
    BillingNotice,
    ChangePreview,
    CheckoutFulfillment,
    StripeEvent,
    SubscriptionMirror,
    TokenLedgerEntry,
)
from db.models.oidc import OidcClient, OidcCode, OidcToken
from db.models.people import (
    AuditEvent,
    LoginSession,
    LoginThrottle,
    Organization,
    OutboxMail,
    PasswordToken,
    RateHit,
    Role,
    User,
    user_search_text,
)
from db.models.product import ApiIdempotency, ApiKey, ProductState, ProductWebhook

__all__ = [
    'ApiIdempotency', 'ApiKey', 'AuditEvent', 'BillingAccount', 'BillingNotice', 'ChangePreview',
    'CheckoutFulfillment', 'LoginSession', 'LoginThrottle', 'OidcClient', 'OidcCode', 'OidcToken', 'Organization',
    'OutboxMail', 'PasswordToken', 'ProductState', 'ProductWebhook', 'RateHit', 'Role', 'StripeEvent',
    'SubscriptionMirror', 'TokenLedgerEntry', 'User', 'user_search_text',
]  # fmt: skip

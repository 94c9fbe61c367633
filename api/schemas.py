"""The product API's request and response bodies, with the examples its OpenAPI document shows."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_AMOUNT = 10**12
PLAIN = r'^[^\x00-\x1f\x7f]*$'
"""Text without control characters: PostgreSQL refuses NUL in text and JSON, and a ledger line is one line."""
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=PLAIN)]
MetadataValue = Annotated[str, StringConstraints(max_length=500, pattern=PLAIN)]


def _example(example: dict) -> ConfigDict:
    return ConfigDict(json_schema_extra={'examples': [example]})


class ErrorBody(BaseModel):
    type: Literal['authentication_error', 'invalid_request_error', 'permission_error', 'idempotency_error', 'api_error']
    code: str
    message: str
    param: str | None = None
    balance: int | None = None
    status: str | None = None


class ErrorResponse(BaseModel):
    model_config = _example(
        {
            'error': {
                'type': 'invalid_request_error',
                'code': 'insufficient_tokens',
                'message': 'The balance is 120 tokens, less than 500.',
                'balance': 120,
            }
        }
    )
    error: ErrorBody


class PlanOut(BaseModel):
    id: str
    name: str
    features: list[str]


class SeatsOut(BaseModel):
    limit: int
    in_use: int


class TrialOut(BaseModel):
    start: int = Field(description='Unix time the trial began (the organization was created)')
    end: int = Field(description='Unix time the trial ends or ended')


class OrganizationOut(BaseModel):
    model_config = _example(
        {
            'object': 'organization',
            'id': 7,
            'name': 'Acme',
            'plan': {'id': 'flexible', 'name': 'Flexible', 'features': ['Prepaid token packs']},
            'status': 'active',
            'is_live': True,
            'trial': {'start': 1796000000, 'end': 1797209600},
            'seats': {'limit': 10, 'in_use': 4},
            'token_balance': 2500,
            'scheduled_end': None,
            'past_due_since': None,
            'grace_ends_at': None,
        }
    )
    object: Literal['organization'] = 'organization'
    id: int
    name: str
    plan: PlanOut | None = Field(description='None while the organization has no subscription')
    status: str = Field(description="The subscription's Stripe status, or 'trial' / 'trial_ended' without one")
    is_live: bool = Field(description='Whether the product should serve the organization now')
    trial: TrialOut
    seats: SeatsOut
    token_balance: int
    scheduled_end: int | None = Field(description='Unix time a scheduled cancellation ends the subscription')
    past_due_since: int | None = Field(
        default=None, description='Unix time of the first failed payment while the subscription is past due or unpaid'
    )
    grace_ends_at: int | None = Field(
        default=None,
        description='Unix time a past-due organization stops being live (GRACE_DAYS after its first failure)',
    )


class OrganizationList(BaseModel):
    object: Literal['list'] = 'list'
    url: str
    has_more: bool
    data: list[OrganizationOut]


class UserOut(BaseModel):
    model_config = _example(
        {
            'object': 'user',
            'id': 42,
            'organization': 7,
            'name': 'Ada Lovelace',
            'email': 'ada@acme.example',
            'role': 'admin',
            'is_enabled': True,
            'last_login': 1796500000,
        }
    )
    object: Literal['user'] = 'user'
    id: int
    organization: int
    name: str
    email: str
    role: Literal['admin', 'member']
    is_enabled: bool
    last_login: int | None


class UserList(BaseModel):
    object: Literal['list'] = 'list'
    url: str
    has_more: bool
    data: list[UserOut]


class LedgerEntryOut(BaseModel):
    object: Literal['ledger_entry'] = 'ledger_entry'
    id: int
    organization: int
    delta: int = Field(description='Tokens added (positive) or taken (negative)')
    kind: str = Field(
        description='purchase, auto_top_up, consumption, grant, refund, dispute, pending or payment_failed'
    )
    description: str
    created: int


class LedgerList(BaseModel):
    object: Literal['list'] = 'list'
    url: str
    has_more: bool
    data: list[LedgerEntryOut]


class ConsumeIn(BaseModel):
    model_config = ConfigDict(
        extra='forbid',
        json_schema_extra={
            'examples': [
                {
                    'amount': 25,
                    'idempotency_key': 'render-9f2c1',
                    'description': 'Rendered report 9f2c1',
                    'metadata': {'report': '9f2c1'},
                }
            ]
        },
    )
    amount: int = Field(gt=0, le=MAX_AMOUNT)
    idempotency_key: str = Field(min_length=1, max_length=255, pattern=PLAIN)
    description: str = Field(default='', max_length=300, pattern=PLAIN)
    metadata: dict[MetadataKey, MetadataValue] = Field(default_factory=dict, max_length=20)


class GrantIn(BaseModel):
    model_config = ConfigDict(
        extra='forbid',
        json_schema_extra={
            'examples': [{'amount': 1000, 'idempotency_key': 'welcome-acme', 'reason': 'Welcome credit'}]
        },
    )
    amount: int = Field(gt=0, le=MAX_AMOUNT)
    idempotency_key: str = Field(min_length=1, max_length=255, pattern=PLAIN)
    reason: str = Field(default='', max_length=200, pattern=PLAIN)


class TokensOut(BaseModel):
    model_config = _example(
        {
            'object': 'token_balance',
            'organization': 7,
            'balance': 2475,
            'entry': {
                'object': 'ledger_entry',
                'id': 311,
                'organization': 7,
                'delta': -25,
                'kind': 'consumption',
                'description': 'Rendered report 9f2c1',
                'created': 1796600000,
            },
        }
    )
    object: Literal['token_balance'] = 'token_balance'
    organization: int
    balance: int
    entry: LedgerEntryOut

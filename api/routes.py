"""The endpoints of /api/v1: entitlements, users and tokens. Thin: they take the key, call a service, map its answer."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from api import schemas
from api.keys import ApiError, api_key, bearer
from db.models import Organization, User
from services import entitlements as reads
from services.billing.usage import Outcome, ledger_row
from services.container import Services
from services.entitlements import Entitlements
from services.users import user_data

ERRORS = {
    status: {'model': schemas.ErrorResponse, 'description': description}
    for status, description in {
        400: 'A parameter is invalid',
        401: 'No key, or a wrong or revoked one',
        404: 'No such object',
    }.items()
}
TOKEN_ERRORS = {
    **ERRORS,
    **{
        status: {'model': schemas.ErrorResponse, 'description': description}
        for status, description in {
            402: 'insufficient_tokens: the balance is below the amount',
            403: 'subscription_inactive: the organization is not live',
            409: 'idempotency_key_reused: the key was used with another body',
        }.items()
    },
}
Limit = Annotated[int, Query(ge=1, le=100, description='How many to return, 1 to 100')]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
_AFTER = 'The id of the last object of the previous page'
After = Annotated[int | None, Query(ge=1, le=2**31 - 1, description=_AFTER)]  # organizations and users: 32-bit ids
EntryAfter = Annotated[int | None, Query(ge=1, le=2**63 - 1, description=_AFTER)]  # ledger entries: 64-bit ids

router = APIRouter(prefix='/v1', dependencies=[Depends(bearer), Depends(api_key)], responses=ERRORS)


def _services(request: Request) -> Services:
    return request.app.state.services


@router.get('/organizations/{organization_id}', response_model=schemas.OrganizationOut, tags=['organizations'])
async def organization(organization_id: Id, request: Request) -> schemas.OrganizationOut:
    """An organization's entitlements: plan, status, whether it is live, trial, seats, tokens, scheduled end."""
    found = await _services(request).entitlements.of_id(organization_id)
    if found is None:
        raise _missing('organization', organization_id)
    return _organization(found)


@router.get('/organizations', response_model=schemas.OrganizationList, tags=['organizations'])
async def organizations(
    request: Request,
    limit: Limit = 10,
    starting_after: After = None,
    email_domain: Annotated[str | None, Query(max_length=253, pattern=schemas.PLAIN)] = None,
) -> schemas.OrganizationList:
    """Organizations, newest first, paged like Stripe's lists; `email_domain` keeps those with an email there."""
    page = await reads.organizations_page(email_domain=email_domain, limit=limit, starting_after=starting_after)
    reader = _services(request).entitlements
    data = [_organization(await reader.of(organization)) for organization in page.rows]
    return schemas.OrganizationList(url='/api/v1/organizations', has_more=page.has_more, data=data)


@router.get('/users/{user_id}', response_model=schemas.UserOut, tags=['users'])
async def user(user_id: Id) -> schemas.UserOut:
    found = await User.get_or_none(id=user_id)
    if found is None:
        raise _missing('user', user_id)
    return _user(found)


@router.get('/users', response_model=schemas.UserList, tags=['users'])
async def users(
    limit: Limit = 10,
    starting_after: After = None,
    email: Annotated[str | None, Query(max_length=254, pattern=schemas.PLAIN)] = None,
) -> schemas.UserList:
    """Users, newest first; `email` finds the one user with that address."""
    page = await reads.users_page(email=email, limit=limit, starting_after=starting_after)
    return schemas.UserList(url='/api/v1/users', has_more=page.has_more, data=[_user(row) for row in page.rows])


@router.post(
    '/organizations/{organization_id}/tokens/consume',
    response_model=schemas.TokensOut,
    tags=['tokens'],
    responses=TOKEN_ERRORS,
)
async def consume(organization_id: Id, body: schemas.ConsumeIn, request: Request):
    """Spend tokens, atomically: the balance never goes below zero. Repeating the idempotency key with the same
    body returns the first answer."""
    outcome = await _services(request).usage.consume(
        organization_id=organization_id,
        amount=body.amount,
        idempotency_key=body.idempotency_key,
        description=body.description,
        metadata=body.metadata,
    )
    return _tokens(organization_id, outcome)


@router.post(
    '/organizations/{organization_id}/tokens/grant',
    response_model=schemas.TokensOut,
    tags=['tokens'],
    responses=TOKEN_ERRORS,
)
async def grant(organization_id: Id, body: schemas.GrantIn, request: Request):
    """Promotional credits, recorded as a grant, with the same idempotency rules as consumption."""
    outcome = await _services(request).usage.grant(
        organization_id=organization_id, amount=body.amount, idempotency_key=body.idempotency_key, reason=body.reason
    )
    return _tokens(organization_id, outcome)


@router.get('/organizations/{organization_id}/tokens/ledger', response_model=schemas.LedgerList, tags=['tokens'])
async def ledger(
    organization_id: Id, request: Request, limit: Limit = 20, starting_after: EntryAfter = None
) -> schemas.LedgerList:
    """Purchases, consumptions, grants and refunds, newest first."""
    if not await Organization.exists(id=organization_id):
        raise _missing('organization', organization_id)
    rows, has_more = await _services(request).usage.ledger(
        organization_id=organization_id, limit=limit, starting_after=starting_after
    )
    return schemas.LedgerList(
        url=f'/api/v1/organizations/{organization_id}/tokens/ledger',
        has_more=has_more,
        data=[schemas.LedgerEntryOut(**ledger_row(row)) for row in rows],
    )


def _tokens(organization_id: int, outcome: Outcome) -> schemas.TokensOut:
    if outcome.status != 200:
        body = outcome.body
        kind = 'idempotency_error' if outcome.status == 409 else 'invalid_request_error'
        raise ApiError(
            outcome.status, kind, body['code'], body['message'], balance=body.get('balance'), status=body.get('status')
        )
    entry = schemas.LedgerEntryOut(**outcome.body['entry'])
    return schemas.TokensOut(organization=organization_id, balance=outcome.body['balance'], entry=entry)


def _missing(kind: str, object_id: int) -> ApiError:
    return ApiError(404, 'invalid_request_error', 'resource_missing', f'No such {kind}: {object_id}.', param='id')


def _organization(found: Entitlements) -> schemas.OrganizationOut:
    plan = found.plan
    return schemas.OrganizationOut(
        id=found.organization_id,
        name=found.organization_name,
        plan=schemas.PlanOut(id=plan.id, name=plan.name, features=list(plan.features)) if plan else None,
        status=found.status,
        is_live=found.is_live,
        trial=schemas.TrialOut(start=int(found.trial_start.timestamp()), end=int(found.trial_end.timestamp())),
        seats=schemas.SeatsOut(limit=found.seat_limit, in_use=found.seats_in_use),
        token_balance=found.token_balance,
        scheduled_end=_unix(found.scheduled_end),
        past_due_since=_unix(found.past_due_since),
        grace_ends_at=_unix(found.grace_ends_at),
    )


def _unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def _user(found: User) -> schemas.UserOut:
    return schemas.UserOut(**user_data(found))

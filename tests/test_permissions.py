"""The rules as one table: every service action that reads or changes an organization's data, run as five callers
who may not, and refused by the service itself (not by a hidden button). Organization A's data stays untouched,
and nothing of it comes back.

A public service method that takes a `session` and is missing from ACTIONS fails the completeness test; a public
method without one must be named in SYSTEM_ONLY with the reason no admin reaches it directly.
"""

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from tortoise.expressions import F

from db.models import (
    AuditEvent,
    BillingAccount,
    Organization,
    PasswordToken,
    Role,
    SubscriptionMirror,
    TokenLedgerEntry,
    User,
)
from services import organizations
from services.auth import Session
from services.billing import Billing
from services.billing.manage import BillingManager
from services.container import Services
from services.errors import NotAuthenticated, PermissionDenied, ServiceError
from services.users import UserDirectory, UserQuery
from tests.billing_helpers import subscribed
from tests.helpers import create_admin, create_member, session_of

ALPHA = 'Alpha Confidential Org'


@dataclass
class World:
    services: Services
    member_a: User  # a member of organization A, the target of user actions
    card_a: str  # a card of organization A's customer


Action = Callable[[World, Session | None], Awaitable[object]]


def _users(method: str, /, **args) -> Action:
    return lambda w, session: getattr(w.services.users, method)(session=session, **args)


def _billing(method: str, /, **args) -> Action:
    return lambda w, session: getattr(w.services.billing, method)(session=session, **args)


def _manager(method: str, /, **args) -> Action:
    return lambda w, session: getattr(w.services.manager, method)(session=session, **args)


# name -> (the call, whether it names an object of organization A: then A's other-organization admin is refused;
# otherwise the call can only ever be about the caller's own organization, and must neither touch nor show A's).
ACTIONS: dict[str, tuple[Action, bool]] = {
    'UserDirectory.page': (_users('page', query=UserQuery()), False),
    'UserDirectory.add': (_users('add', name='Intruder', email='intruder@example.com', role='admin'), False),
    'UserDirectory.edit': (
        lambda w, s: w.services.users.edit(
            session=s, user_id=w.member_a.id, name='X', email='x@example.com', role='admin'
        ),  # fmt: skip
        True,
    ),
    'UserDirectory.set_enabled': (
        lambda w, s: w.services.users.set_enabled(session=s, user_id=w.member_a.id, enabled=False),
        True,
    ),
    'UserDirectory.delete': (lambda w, s: w.services.users.delete(session=s, user_id=w.member_a.id), True),
    'UserDirectory.resend_password_email': (
        lambda w, s: w.services.users.resend_password_email(session=s, user_id=w.member_a.id),
        True,
    ),
    'Billing.overview': (_billing('overview'), False),
    'Billing.start_checkout': (_billing('start_checkout', plan_id='starter', interval='month', seats=1), False),
    'Billing.resync': (_billing('resync'), False),
    'BillingManager.preview_change': (
        _manager('preview_change', plan_id='professional', interval='year', seats=3),
        False,
    ),
    'BillingManager.apply_change': (_manager('apply_change', plan_id='professional', interval='year', seats=3), False),
    'BillingManager.preview_add_seats': (_manager('preview_add_seats', seats_to_add=2), False),
    'BillingManager.add_seats': (_manager('add_seats', seats_to_add=2), False),
    'BillingManager.cancel': (_manager('cancel', reason='intruder'), False),
    'BillingManager.remove_cancellation': (_manager('remove_cancellation'), False),
    'BillingManager.start_token_checkout': (_manager('start_token_checkout', packs=1), False),
    'BillingManager.token_history': (_manager('token_history'), False),
    'BillingManager.payment_methods': (_manager('payment_methods'), False),
    'BillingManager.add_payment_method': (_manager('add_payment_method'), False),
    'BillingManager.update_payment_method': (
        lambda w, s: w.services.manager.update_payment_method(
            session=s, card_id=w.card_a, values={'exp_month': 1, 'exp_year': 2040, 'name': 'Intruder'}
        ),
        True,
    ),
    'BillingManager.make_default': (lambda w, s: w.services.manager.make_default(session=s, card_id=w.card_a), True),
    'BillingManager.remove_payment_method': (
        lambda w, s: w.services.manager.remove_payment_method(session=s, card_id=w.card_a),
        True,
    ),
    'BillingManager.invoices': (_manager('invoices'), False),
    'organizations.get_organization': (lambda w, s: organizations.get_organization(session=s), False),
    'organizations.activity': (lambda w, s: organizations.activity(session=s), False),
    'organizations.update_organization': (
        lambda w, s: organizations.update_organization(
            session=s, organization_id=w.member_a.organization_id, values={'name': 'Taken over'}
        ),
        True,
    ),
}

# Public methods that take no session: no page calls them with an admin's input, or they act for Stripe.
SYSTEM_ONLY = {
    'UserDirectory.seat_limit': 'a count, for the rules inside the services',
    'UserDirectory.seats_in_use': 'a count, for the rules inside the services',
    'Billing.exclusive': 'the per-organization lock',
    'Billing.trial_days_left': 'arithmetic on an organization the caller already holds',
    'Billing.sync_catalog': 'start-up and `stripe-sync`: the plan catalog, no organization',
    'Billing.price_id': 'the catalog',
    'Billing.ensure_customer': 'called by the checkout actions after their own check',
    'Billing.update_customer': 'called after update_organization succeeded for the same organization',
    'Billing.customer_changed': 'webhooks (signed by Stripe)',
    'Billing.open_checkout': 'called by the checkout actions after their own check',
    'Billing.fulfill_checkout': 'webhooks and the return page: only a paid checkout of that same organization',
    'Billing.sync_subscription': 'webhooks (signed by Stripe)',
    'Billing.resync_organization': 'start-up and Billing.resync',
    'Billing.resync_all': 'start-up',
    'Billing.checkout_payment_failed': 'webhooks (signed by Stripe): a delayed payment of that checkout failed',
    'Billing.charge_reversed': 'webhooks (signed by Stripe): a refund or a dispute of that charge',
}

CALLERS = ['anonymous', 'member', 'disabled admin', 'admin of another organization', 'stale session epoch']


def _public_methods() -> set[str]:
    found = set()
    for cls in (UserDirectory, Billing, BillingManager):
        for name, _function in inspect.getmembers(cls, inspect.isfunction):
            if not name.startswith('_'):
                found.add(f'{cls.__name__}.{name}')
    for name, member in inspect.getmembers(organizations, inspect.iscoroutinefunction):
        if not name.startswith('_') and member.__module__ == organizations.__name__:
            if 'session' in inspect.signature(member).parameters:
                found.add(f'organizations.{name}')
    return found


def test_every_public_service_method_is_in_the_table() -> None:
    public = _public_methods()
    missing = public - set(ACTIONS) - set(SYSTEM_ONLY)
    assert not missing, f'add these to ACTIONS (or SYSTEM_ONLY, with the reason): {sorted(missing)}'
    assert not (set(ACTIONS) | set(SYSTEM_ONLY)) - public, 'the table names methods that no longer exist'
    for name in ACTIONS:  # every action of the table does take the caller's session
        owner, method = name.split('.')
        function = getattr(organizations if owner == 'organizations' else globals()[owner], method)
        assert 'session' in inspect.signature(function).parameters, name


@pytest.fixture
async def world(services: Services, emulator_app) -> World:
    admin_a = await create_admin(ALPHA, email='boss@alpha-confidential.example.com')
    await subscribed(services, emulator_app, admin=admin_a, plan='flexible', seats=5)
    member_a = await create_member(admin_a, name='Alpha Secret Member', email='secret@alpha-confidential.example.com')
    [card] = await services.manager.payment_methods(session=await session_of(admin_a))
    return World(services=services, member_a=member_a, card_a=card.id)


async def _caller(kind: str, world: World) -> Session | None:
    if kind == 'anonymous':
        return None
    if kind == 'admin of another organization':
        return await session_of(await create_admin('Beta Org', email='beta-admin@example.com'))
    a = world.member_a.organization_id
    role = Role.MEMBER if kind == 'member' else Role.ADMIN
    user = await User.create(organization_id=a, name=kind.title(), email=f'{kind.replace(" ", "-")}@example.com',
                             role=role, password_hash='x')  # fmt: skip
    session = await session_of(user)
    if kind == 'disabled admin':
        await User.filter(id=user.id).update(is_enabled=False)
    if kind == 'stale session epoch':  # a password change or a role change since this session began
        await User.filter(id=user.id).update(session_epoch=F('session_epoch') + 1)
    return session


async def _snapshot(organization_id: int) -> dict:
    """Everything Portico keeps of organization A, as plain values."""

    async def rows(model, **where):
        return sorted(map(repr, await model.filter(**where).values()))

    return {
        'organization': await rows(Organization, id=organization_id),
        'users': await rows(User, organization_id=organization_id),
        'tokens': await rows(PasswordToken, user__organization_id=organization_id),
        'audit': await rows(AuditEvent, organization_id=organization_id),
        'billing': await rows(BillingAccount, organization_id=organization_id),
        'subscription': await rows(SubscriptionMirror, organization_id=organization_id),
        'ledger': await rows(TokenLedgerEntry, organization_id=organization_id),
    }


@pytest.mark.parametrize('action', sorted(ACTIONS))
async def test_the_server_refuses_whoever_may_not(world: World, action: str) -> None:
    """One organization (A, subscribed, with a card) per action; each of the five callers in turn."""
    call, names_an_object_of_a = ACTIONS[action]
    organization_a = world.member_a.organization_id
    for caller in CALLERS:
        session = await _caller(caller, world)
        before, cards_before = await _snapshot(organization_a), await _cards(world)
        result = outcome = None
        try:
            result = await call(world, session)
        except ServiceError as refusal:
            outcome = refusal
        if caller in {'anonymous', 'disabled admin', 'stale session epoch'}:
            assert isinstance(outcome, NotAuthenticated), (caller, outcome, result)
        elif caller == 'member' or names_an_object_of_a:
            assert isinstance(outcome, PermissionDenied), (caller, outcome, result)
        else:  # another organization's admin, on their own organization: allowed, or refused for its own reasons
            assert not _mentions(result, ('Alpha', 'alpha-confidential', world.card_a)), (caller, result)
        assert await _snapshot(organization_a) == before, caller
        assert await _cards(world) == cards_before, caller


async def _cards(world: World) -> list[dict]:
    account = await BillingAccount.get(organization_id=world.member_a.organization_id)
    page = await world.services.billing.gateway.call('customers.payment_methods', 'list', account.stripe_customer_id)
    return page['data']


def _mentions(value, needles: tuple[str, ...], depth: int = 0) -> bool:
    """Whether `value` (dataclasses, models, lists, dicts, strings) contains any of the needles."""
    if depth > 6 or value is None:
        return False
    if isinstance(value, str):
        return any(needle in value for needle in needles)
    if dataclasses.is_dataclass(value):
        value = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    elif hasattr(value, '_meta') and hasattr(value, '__dict__'):  # a Tortoise model
        value = {key: item for key, item in vars(value).items() if not key.startswith('_')} | {
            key.lstrip('_'): item for key, item in vars(value).items() if key.startswith('_') and key.endswith('_cache')
        }
    if isinstance(value, dict):
        return any(_mentions(item, needles, depth + 1) for item in value.values())
    if isinstance(value, list | tuple | set):
        return any(_mentions(item, needles, depth + 1) for item in value)
    return False

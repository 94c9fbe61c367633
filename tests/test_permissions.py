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
from services.auth import Session
from services.billing.auto_top_up import AutoTopUps
from services.billing.catalog import CatalogSync
from services.billing.checkout import Checkouts
from services.billing.customers import Customers
from services.billing.invoices import Invoices
from services.billing.pausing import Pausing
from services.billing.payment_methods import PaymentMethods
from services.billing.recovery import Recovery
from services.billing.resync import Resync
from services.billing.schedules import ScheduledChanges
from services.billing.subscriptions import Subscriptions
from services.billing.tokens import Tokens
from services.billing.usage import Usage
from services.container import Services
from services.errors import NotAuthenticated, PermissionDenied, ServiceError
from services.forms import UserForm
from services.organizations import Organizations
from services.users import UserDirectory, UserQuery
from tests.billing_helpers import bought
from tests.helpers import create_admin, create_member, session_of

ALPHA = 'Alpha Confidential Org'


@dataclass
class World:
    services: Services
    member_a: User  # a member of organization A, the target of user actions
    card_a: str  # a card of organization A's customer
    checkout_a: str  # a completed Checkout session of organization A


Action = Callable[[World, Session | None], Awaitable[object]]


def _bound(capability: str, method: str, /, **args) -> Action:
    """`capability.method(session=…, **args)`, the capability found as the pages find it (services.for_session)."""

    def call(w: World, session: Session | None):
        caller = w.services.for_session(lambda: session)
        return getattr(getattr(caller, capability), method)(**args)

    return call


def _on_member(capability: str, method: str, /, **args) -> Action:
    """The same, about organization A's member."""
    return lambda w, session: _bound(capability, method, user_id=w.member_a.id, **args)(w, session)


def _on_card(capability: str, method: str, /, **args) -> Action:
    """The same, about organization A's card."""
    return lambda w, session: _bound(capability, method, card_id=w.card_a, **args)(w, session)


# name -> (the call, whether it names an object of organization A: then A's other-organization admin is refused;
# otherwise the call can only ever be about the caller's own organization, and must neither touch nor show A's).
ACTIONS: dict[str, tuple[Action, bool]] = {
    'UserDirectory.page': (_bound('users', 'page', query=UserQuery()), False),
    'UserDirectory.add': (_bound('users', 'add', form=UserForm('Intruder', 'intruder@example.com', 'admin')), False),
    'UserDirectory.edit': (_on_member('users', 'edit', form=UserForm('X', 'x@example.com', 'admin')), True),
    'UserDirectory.set_enabled': (_on_member('users', 'set_enabled', enabled=False), True),
    'UserDirectory.delete': (_on_member('users', 'delete'), True),
    'UserDirectory.resend_password_email': (_on_member('users', 'resend_password_email'), True),
    'Organizations.get': (_bound('organizations', 'get'), False),
    'Organizations.activity': (_bound('organizations', 'activity'), False),
    'Organizations.update': (
        lambda w, s: _bound(
            'organizations', 'update', organization_id=w.member_a.organization_id, values={'name': 'Taken over'}
        )(w, s),
        True,
    ),  # fmt: skip
    'Subscriptions.overview': (_bound('subscriptions', 'overview'), False),
    'Resync.resync': (_bound('resync', 'resync'), False),
    'Subscriptions.preview_change': (
        _bound('subscriptions', 'preview_change', plan_id='professional', interval='year', seats=3),
        False,
    ),
    'Subscriptions.apply_change': (
        _bound('subscriptions', 'apply_change', plan_id='professional', interval='year', seats=3),
        False,
    ),
    'Subscriptions.preview_add_seats': (_bound('subscriptions', 'preview_add_seats', seats_to_add=2), False),
    'Subscriptions.add_seats': (_bound('subscriptions', 'add_seats', seats_to_add=2), False),
    'Subscriptions.cancel': (_bound('subscriptions', 'cancel', reason='intruder'), False),
    'Subscriptions.remove_cancellation': (_bound('subscriptions', 'remove_cancellation'), False),
    'Checkouts.start_subscription': (
        _bound('checkouts', 'start_subscription', plan_id='starter', interval='month', seats=1),
        False,
    ),
    'Checkouts.fulfill_for_caller': (
        lambda w, s: _bound('checkouts', 'fulfill_for_caller', checkout_session_id=w.checkout_a)(w, s),
        True,
    ),
    'Tokens.start_checkout': (_bound('tokens', 'start_checkout', packs=1), False),
    'Tokens.history': (_bound('tokens', 'history'), False),
    'Tokens.offer': (_bound('tokens', 'offer'), False),
    'Tokens.buy_with_default_card': (
        _bound('tokens', 'buy_with_default_card', packs=1, request='intruder-click-0001'),
        False,
    ),
    'PaymentMethods.cards': (_bound('payment_methods', 'cards'), False),
    'PaymentMethods.add': (_bound('payment_methods', 'add'), False),
    'PaymentMethods.update': (
        _on_card('payment_methods', 'update', values={'exp_month': 1, 'exp_year': 2040, 'name': 'Intruder'}),
        True,
    ),
    'PaymentMethods.make_default': (_on_card('payment_methods', 'make_default'), True),
    'PaymentMethods.remove': (_on_card('payment_methods', 'remove'), True),
    'Invoices.page': (_bound('invoices', 'page'), False),
    'Usage.daily_use': (_bound('usage', 'daily_use'), False),
    'Usage.set_alert': (_bound('usage', 'set_alert', threshold=5), False),
    'AutoTopUps.offer': (_bound('auto_top_up', 'offer'), False),
    'AutoTopUps.save': (_bound('auto_top_up', 'save', below=500, packs=2, monthly_cap=3), False),
    'AutoTopUps.turn_off': (_bound('auto_top_up', 'turn_off'), False),
    'Checkouts.completion_message': (
        lambda w, s: _bound('checkouts', 'completion_message', checkout_session_id=w.checkout_a)(w, s),
        True,
    ),
    'Recovery.pay_now': (_bound('recovery', 'pay_now'), False),
    'Pausing.pause': (_bound('pausing', 'pause', periods=1), False),
    'Pausing.resume': (_bound('pausing', 'resume'), False),
    'ScheduledChanges.preview': (_bound('schedules', 'preview', plan_id='starter', interval='month', seats=5), False),
    'ScheduledChanges.schedule': (
        _bound('schedules', 'schedule', plan_id='starter', interval='month', seats=5),
        False,
    ),  # fmt: skip
    'ScheduledChanges.cancel': (_bound('schedules', 'cancel'), False),
}

CAPABILITIES = (UserDirectory, Organizations, CatalogSync, Customers, Checkouts, Subscriptions, Resync,
                PaymentMethods, Invoices, Tokens, Usage, AutoTopUps, Recovery, Pausing, ScheduledChanges)  # fmt: skip

# Public methods that take no session: no page calls them with an admin's input, or they act for Stripe.
SYSTEM_ONLY = {
    'CatalogSync.sync': 'start-up and `stripe-sync`: the plan catalog, no organization',
    'CatalogSync.price_id': 'the catalog',
    'Customers.ensure': 'called by the checkout actions after their own check',
    'Customers.update': 'called by Organizations.update for the organization it just saved',
    'Customers.changed': 'webhooks (signed by Stripe)',
    'Checkouts.open': 'called by the checkout actions after their own check',
    'Checkouts.fulfill': "webhooks, and fulfill_for_caller for the caller's own organization",
    'Checkouts.payment_failed': 'webhooks (signed by Stripe): a delayed payment of that checkout failed',
    'Subscriptions.trial_days_left': 'arithmetic on an organization the caller already holds',
    'Subscriptions.trial_end': 'arithmetic on an organization the caller already holds',
    'Resync.sync': 'webhooks (signed by Stripe)',
    'Resync.resync_organization': 'start-up and Resync.resync',
    'Resync.resync_all': 'start-up',
    'Tokens.charge_reversed': 'webhooks (signed by Stripe): a refund or a dispute of that charge',
    'Usage.consume': 'the product API, with a server-side API key (tests/test_product_api.py)',
    'Usage.grant': 'the product API, with a server-side API key',
    'Usage.ledger': 'the product API, with a server-side API key',
    'Usage.check_low_balance': 'inside a consumption, after its own checks',
    'Usage.forget_old_keys': 'housekeeping',
    'AutoTopUps.top_up': 'after the commit of the consumption that crossed the threshold, in the background',
    'AutoTopUps.drain': 'tests and shutdown: waits for the purchases under way',
    'Pausing.resume_due': 'housekeeping: the pauses for N billing periods that are over',
    'ScheduledChanges.release': 'called by ScheduledChanges.cancel with the context it checked',
}

CALLERS = ['anonymous', 'member', 'disabled admin', 'admin of another organization', 'stale session epoch']


def _public_methods() -> set[str]:
    return {f'{cls.__name__}.{name}' for cls in CAPABILITIES for name, _ in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith('_')}  # fmt: skip


def test_every_public_service_method_is_in_the_table() -> None:
    public = _public_methods()
    missing = public - set(ACTIONS) - set(SYSTEM_ONLY)
    assert not missing, f'add these to ACTIONS (or SYSTEM_ONLY, with the reason): {sorted(missing)}'
    assert not (set(ACTIONS) | set(SYSTEM_ONLY)) - public, 'the table names methods that no longer exist'
    by_name = {cls.__name__: cls for cls in CAPABILITIES}
    for name in ACTIONS:  # every action of the table does take the caller's session
        owner, method = name.split('.')
        assert 'session' in inspect.signature(getattr(by_name[owner], method)).parameters, name
    for name in SYSTEM_ONLY:
        owner, method = name.split('.')
        assert 'session' not in inspect.signature(getattr(by_name[owner], method)).parameters, name


@pytest.fixture
async def world(services: Services, emulator_app) -> World:
    admin_a = await create_admin(ALPHA, email='boss@alpha-confidential.example.com')
    _, checkout_a = await bought(services, emulator_app, admin=admin_a, plan='flexible', seats=5)
    await services.billing.checkouts.fulfill(checkout_a)
    member_a = await create_member(admin_a, name='Alpha Secret Member', email='secret@alpha-confidential.example.com')
    [card] = await services.billing.payment_methods.cards(session=await session_of(admin_a))
    return World(services=services, member_a=member_a, card_a=card.id, checkout_a=checkout_a)


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

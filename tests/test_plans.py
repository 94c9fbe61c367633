"""The plan catalog: plans.toml as shipped, its validation, money formatting, and `stripe-sync` against the emulator."""

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from services.container import PLANS_FILE
from services.plans import Catalog, PlanCatalogError, TokenPack, format_money, load_catalog

ROOT = Path(__file__).resolve().parent.parent

VALID_PLAN = {
    'name': '"Starter"',
    'description': '"For small teams."',
    'features': '["Up to 10 users", "Email support"]',
    'currency': '"usd"',
    'monthly_price': '6.00',
    'yearly_price': '60.00',
    'min_seats': '1',
    'max_seats': '10',
    'uses_tokens': 'false',
}


def plan_toml(plan_id: str = 'starter', **changes: str | None) -> str:
    """One [plans.<id>] table: VALID_PLAN with `changes` applied (None removes a field)."""
    fields = {**VALID_PLAN, **changes}
    lines = [f'{field} = {value}' for field, value in fields.items() if value is not None]
    return f'[plans.{plan_id}]\n' + '\n'.join(lines) + '\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / 'plans.toml'
    path.write_text(text, encoding='utf-8')
    return path


# ----- the shipped catalog ----------------------------------------------------------------------------------


def test_the_shipped_catalog_loads() -> None:
    catalog = load_catalog(PLANS_FILE)
    assert [plan.name for plan in catalog.plans] == ['Starter', 'Professional', 'Flexible']
    assert [plan.id for plan in catalog.plans] == ['starter', 'professional', 'flexible']
    assert [plan.uses_tokens for plan in catalog.plans] == [False, False, True]

    starter, professional, flexible = catalog.plans
    assert (starter.monthly_price, starter.yearly_price) == (600, 6000)
    assert (professional.monthly_price, professional.yearly_price) == (1200, 12000)
    assert (flexible.monthly_price, flexible.yearly_price) == (1000, 10000)
    assert flexible.token_pack == TokenPack(size=1000, price=1000)
    assert starter.token_pack is None and professional.token_pack is None
    assert all(plan.currency == 'usd' for plan in catalog.plans)
    assert (starter.min_seats, starter.max_seats) == (1, 10)
    assert flexible.price('month') == 1000 and flexible.price('year') == 10000
    assert all(plan.features and all(isinstance(f, str) for f in plan.features) for plan in catalog.plans)

    assert flexible.lookup_key('month') == 'portico_flexible_monthly'
    assert flexible.lookup_key('year') == 'portico_flexible_yearly'
    assert flexible.token_pack_lookup_key == 'portico_flexible_token_pack'
    assert flexible.product_id == 'portico_flexible'
    assert catalog.get('professional') is professional
    with pytest.raises(KeyError):
        catalog.get('enterprise')


def test_lookup_keys_map_back_to_plan_and_interval() -> None:
    catalog = load_catalog(PLANS_FILE)
    for plan in catalog.plans:
        for interval in ('month', 'year'):
            assert catalog.by_lookup_key(plan.lookup_key(interval)) == (plan, interval)
    assert catalog.by_lookup_key('portico_starter_yearly') == (catalog.get('starter'), 'year')
    # The token pack is a one-time price, not a plan interval; unknown or missing keys are no plan.
    assert catalog.by_lookup_key('portico_flexible_token_pack') is None
    assert catalog.by_lookup_key('portico_enterprise_monthly') is None
    assert catalog.by_lookup_key(None) is None


def test_a_valid_file_of_our_own_loads(tmp_path: Path) -> None:
    text = plan_toml('team_2', currency='"EUR"', monthly_price='12.5', yearly_price='125')
    text += plan_toml('metered', uses_tokens='true', token_pack_size='500', token_pack_price='5', currency='"jpy"',
                      monthly_price='1000', yearly_price='10000')  # fmt: skip
    catalog = load_catalog(write(tmp_path, text))
    team, metered = catalog.plans
    assert (team.id, team.currency, team.monthly_price, team.yearly_price) == ('team_2', 'eur', 1250, 12500)
    # Zero-decimal currencies are in their major unit already.
    assert (metered.monthly_price, metered.token_pack) == (1000, TokenPack(size=500, price=5))


# ----- validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('text', 'message'),
    [
        pytest.param('[plans.starter\nname = "x"\n', 'is not valid TOML', id='invalid-toml'),
        pytest.param('# nothing here\n', r'defines no \[plans.<id>\] tables', id='no-plans'),
        pytest.param('[plans]\n', r'defines no \[plans.<id>\] tables', id='empty-plans'),
        pytest.param('plans = 5\n', r'defines no \[plans.<id>\] tables', id='plans-not-a-table'),
        pytest.param(plan_toml(name=None), r'^plans\.starter\.name is required \(text\)$', id='missing-name'),
        pytest.param(plan_toml(name='"   "'), r'^plans\.starter\.name is required \(text\)$', id='blank-name'),
        pytest.param(
            plan_toml(description=None), r'^plans\.starter\.description is required', id='missing-description'
        ),
        pytest.param(
            plan_toml(currency='"dollars"'),
            r'^plans\.starter\.currency must be a three-letter ISO code such as "usd"$',
            id='bad-currency',
        ),
        pytest.param(plan_toml(currency='"u5d"'), r'^plans\.starter\.currency must be', id='currency-digits'),
        pytest.param(plan_toml(currency=None), r'^plans\.starter\.currency is required', id='missing-currency'),
        pytest.param(
            plan_toml(monthly_price='-6.00'),
            r'^plans\.starter\.monthly_price must be a positive price, e\.g\. 12\.50$',
            id='negative-price',
        ),
        pytest.param(
            plan_toml(yearly_price='0'), r'^plans\.starter\.yearly_price must be a positive price', id='zero-price'
        ),
        pytest.param(
            plan_toml(monthly_price='"6.00"'), r'^plans\.starter\.monthly_price must be a positive', id='price-as-text'
        ),
        pytest.param(
            plan_toml(monthly_price='true'), r'^plans\.starter\.monthly_price must be a positive', id='price-as-bool'
        ),
        pytest.param(
            plan_toml(monthly_price=None), r'^plans\.starter\.monthly_price must be a positive', id='missing-price'
        ),
        pytest.param(
            plan_toml(monthly_price='12.345'),
            r'^plans\.starter\.monthly_price has more decimals than USD allows$',
            id='too-many-decimals',
        ),
        pytest.param(
            plan_toml(currency='"jpy"', yearly_price='1000.5'),
            r'^plans\.starter\.yearly_price has more decimals than JPY allows$',
            id='decimals-in-zero-decimal-currency',
        ),
        pytest.param(
            plan_toml(min_seats='5', max_seats='2'),
            r'^plans\.starter: min_seats \(5\) is above max_seats \(2\)$',
            id='min-above-max',
        ),
        pytest.param(
            plan_toml(min_seats='0'),
            r'^plans\.starter\.min_seats must be a whole number of at least 1$',
            id='zero-min-seats',
        ),
        pytest.param(
            plan_toml(max_seats='10.5'), r'^plans\.starter\.max_seats must be a whole number', id='fractional-seats'
        ),
        pytest.param(
            plan_toml(uses_tokens='true'),
            r'^plans\.starter\.token_pack_size must be a whole number of at least 1$',
            id='tokens-without-pack-size',
        ),
        pytest.param(
            plan_toml(uses_tokens='true', token_pack_size='1000'),
            r'^plans\.starter\.token_pack_price must be a positive price',
            id='tokens-without-pack-price',
        ),
        pytest.param(
            plan_toml(uses_tokens='"yes"'), r'^plans\.starter\.uses_tokens must be true or false$', id='tokens-not-bool'
        ),
        pytest.param(plan_toml(uses_tokens='1'), r'^plans\.starter\.uses_tokens must be true or false$', id='tokens-1'),
        pytest.param(
            plan_toml(features='"Email support"'),
            r'^plans\.starter\.features must be a list of strings$',
            id='features-not-a-list',
        ),
        pytest.param(
            plan_toml(features='["Email support", 3]'),
            r'^plans\.starter\.features must be a list of strings$',
            id='features-not-strings',
        ),
        pytest.param(
            plan_toml('Starter'),
            r'^plans\.Starter: the plan id must be lower-case letters, digits and underscores$',
            id='capital-plan-id',
        ),
        pytest.param(plan_toml('pro-plan'), r'^plans\.pro-plan: the plan id must be lower-case', id='hyphen-plan-id'),
        pytest.param(
            plan_toml() + plan_toml('pro', currency='"dollars"'),
            r'^plans\.pro\.currency must be',
            id='second-plan-named',
        ),
    ],
)
def test_a_bad_catalog_is_refused_with_one_line_naming_the_plan_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PlanCatalogError, match=message) as error:
        load_catalog(path)
    assert '\n' not in str(error.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / 'nowhere' / 'plans.toml'
    with pytest.raises(PlanCatalogError, match=re.escape(f'{missing} is missing')) as error:
        load_catalog(missing)
    assert '\n' not in str(error.value)


def test_invalid_toml_names_the_file_and_the_place(tmp_path: Path) -> None:
    path = write(tmp_path, plan_toml() + 'max_seats = = 3\n')
    with pytest.raises(PlanCatalogError, match=re.escape(f'{path} is not valid TOML: ')) as error:
        load_catalog(path)
    assert 'line 11' in str(error.value) and '\n' not in str(error.value)


def test_plan_catalog_error_is_a_value_error() -> None:
    assert issubclass(PlanCatalogError, ValueError)


# ----- money ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('amount', 'currency', 'expected'),
    [
        (1250, 'usd', '$12.50'),
        (100000, 'usd', '$1,000.00'),
        (0, 'usd', '$0.00'),
        (5, 'USD', '$0.05'),
        (-500, 'eur', '-€5.00'),
        (199, 'gbp', '£1.99'),
        (1000, 'jpy', '1,000 JPY'),
        (-1000, 'jpy', '-1,000 JPY'),
        (999, 'chf', '9.99 CHF'),
        (123456789, 'chf', '1,234,567.89 CHF'),
    ],
)
def test_format_money(amount: int, currency: str, expected: str) -> None:
    assert format_money(amount, currency) == expected


# ----- stripe-sync against the emulator ---------------------------------------------------------------------


async def _prices(services) -> list[dict]:
    page = await services.billing.gateway.call('prices', 'list', limit=100)
    assert not page['has_more']
    return page['data']


async def test_a_second_sync_changes_nothing(services) -> None:
    before = await _prices(services)
    assert await services.billing.prices.sync() == []
    after = await _prices(services)

    assert sorted(price['id'] for price in after) == sorted(price['id'] for price in before)
    active = [price for price in after if price['active']]
    assert len(active) == len(after) == 7  # 3 plans × 2 intervals + 1 token pack
    assert sorted(price['lookup_key'] for price in active) == sorted([
        'portico_starter_monthly', 'portico_starter_yearly',
        'portico_professional_monthly', 'portico_professional_yearly',
        'portico_flexible_monthly', 'portico_flexible_yearly', 'portico_flexible_token_pack',
    ])  # fmt: skip
    by_key = {price['lookup_key']: price for price in active}
    assert by_key['portico_flexible_monthly']['unit_amount'] == 1000
    assert by_key['portico_flexible_monthly']['recurring']['interval'] == 'month'
    assert by_key['portico_professional_yearly']['unit_amount'] == 12000
    assert by_key['portico_flexible_token_pack']['recurring'] is None
    assert by_key['portico_flexible_token_pack']['product'] == 'portico_flexible'

    products = (await services.billing.gateway.call('products', 'list', limit=100))['data']
    assert sorted(product['id'] for product in products) == ['portico_flexible', 'portico_professional',
                                                             'portico_starter']  # fmt: skip
    assert {product['id']: product['name'] for product in products}['portico_flexible'] == 'Flexible'
    assert all(product['active'] for product in products)
    assert all(price['product'] == f'portico_{price["metadata"]["portico_plan"]}' for price in active)

    assert (
        await services.billing.prices.price_id('portico_flexible_monthly') == by_key['portico_flexible_monthly']['id']
    )


async def test_a_changed_price_replaces_the_old_one_under_its_lookup_key(services) -> None:
    from services.billing.catalog import CatalogSync

    gateway = services.billing.gateway
    old = (await gateway.call('prices', 'list', lookup_keys=['portico_flexible_monthly'], limit=1))['data'][0]
    assert old['unit_amount'] == 1000

    catalog = services.billing.catalog
    flexible = _with_monthly(catalog.get('flexible'), 1500)
    changed = dataclasses.replace(
        catalog, plans=tuple(flexible if plan.id == 'flexible' else plan for plan in catalog.plans)
    )
    billing = CatalogSync(catalog=changed, gateway=gateway)

    assert await billing.sync() == ['replaced price portico_flexible_monthly ($15.00)']

    current = (await gateway.call('prices', 'list', lookup_keys=['portico_flexible_monthly'], limit=10))['data']
    assert len(current) == 1
    new = current[0]
    assert new['id'] != old['id'] and new['unit_amount'] == 1500 and new['active']
    assert new['recurring']['interval'] == 'month' and new['product'] == 'portico_flexible'
    retired = await gateway.call('prices', 'retrieve', old['id'])
    assert retired['active'] is False and retired['lookup_key'] is None
    assert await billing.price_id('portico_flexible_monthly') == new['id']

    prices = await _prices(services)
    assert len(prices) == 8 and len([price for price in prices if price['active']]) == 7

    assert await billing.sync() == []
    again = await _prices(services)
    assert sorted(price['id'] for price in again) == sorted(price['id'] for price in prices)


async def test_changing_a_price_back_makes_the_old_amount_sellable_again(services) -> None:
    from services.billing.catalog import CatalogSync

    catalog = services.billing.catalog

    def billing_with(monthly: int) -> 'CatalogSync':
        flexible = _with_monthly(catalog.get('flexible'), monthly)
        changed = Catalog(plans=tuple(flexible if plan.id == 'flexible' else plan for plan in catalog.plans))
        return CatalogSync(catalog=changed, gateway=services.billing.gateway)

    assert await billing_with(1500).sync() == ['replaced price portico_flexible_monthly ($15.00)']
    assert await billing_with(1000).sync() == ['replaced price portico_flexible_monthly ($10.00)']
    found = await services.billing.gateway.call('prices', 'list', lookup_keys=['portico_flexible_monthly'], limit=1)
    assert [(price['unit_amount'], price['active']) for price in found['data']] == [(1000, True)]
    assert await billing_with(1000).sync() == []


async def test_a_changed_product_name_is_updated(services) -> None:
    from services.billing.catalog import CatalogSync

    catalog = services.billing.catalog
    renamed = dataclasses.replace(catalog.get('starter'), name='Starter Plus')
    changed = Catalog(plans=tuple(renamed if plan.id == 'starter' else plan for plan in catalog.plans))
    billing = CatalogSync(catalog=changed, gateway=services.billing.gateway)
    assert await billing.sync() == ['updated product portico_starter']
    product = await services.billing.gateway.call('products', 'retrieve', 'portico_starter')
    assert product['name'] == 'Starter Plus'
    assert await billing.sync() == []


# ----- the command line -------------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, 'main.py', *args], cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=60
    )


def test_stripe_sync_creates_the_catalog_once_then_reports_it_up_to_date() -> None:
    first = run_cli('stripe-sync')
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert [line for line in lines if line.startswith('created product')] == [
        'created product portico_starter',
        'created product portico_professional',
        'created product portico_flexible',
    ]
    assert 'created price portico_starter_monthly ($6.00)' in lines
    assert 'created price portico_professional_yearly ($120.00)' in lines
    assert 'created price portico_flexible_token_pack ($10.00)' in lines
    assert len([line for line in lines if line.startswith('created price')]) == 7
    assert len(lines) == 10

    second = run_cli('stripe-sync')
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == 'The plan catalog in the offline emulator is up to date.'
    assert 'Traceback' not in first.stderr + second.stderr


# A broken plans.toml refusing `python main.py migrate` with exit code 2 and one 'portico: ...' line is not tested
# through the CLI: main.py always reads services.container.PLANS_FILE, the shared plans.toml next to it, and there
# is no environment variable or argument to point it at another file. load_catalog's messages are tested above.


@pytest.mark.parametrize(
    ('body', 'message'),
    [
        ('[plans]\nstarter = "x"\n', r'^plans\.starter must be a table \(\[plans\.starter\]\)$'),
        (plan_toml(monthly_price='inf'), r'^plans\.starter\.monthly_price must be a positive price'),
        (plan_toml(monthly_price='nan'), r'^plans\.starter\.monthly_price must be a positive price'),
        (plan_toml(monthly_price='1e400'), r'^plans\.starter\.monthly_price must be a positive price'),
    ],
)
def test_odd_values_get_the_one_line_error_too(tmp_path, body: str, message: str) -> None:
    with pytest.raises(PlanCatalogError, match=message):
        load_catalog(write(tmp_path, body))


def _with_monthly(plan, amount: int):
    from services.plans import Interval

    return dataclasses.replace(plan, prices={**plan.prices, Interval.MONTH: amount})

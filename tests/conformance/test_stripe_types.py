"""The emulator's JSON against Stripe's own types: the TypeScript declarations that stripe-node 23.1.0 generates
from Stripe's OpenAPI spec, at API version 2026-10-28.endive, the emulator's.

A realistic run (scenario.py) goes through every resource the emulator serves by the real SDK; every JSON body the
emulator answers is recorded on the way (an httpx response hook around the in-process app) and checked against the
type its `object` names, recursively (checker.py), and so is the `data.object` of every event. The faults that remain
are listed in KNOWN_FAULTS below, each with what the type says: the test fails on any other fault, and on an entry
that no longer occurs, so the list only shrinks.

The types are fetched once by `make test` (tests/conformance/fetch_types.sh) into .cache/stripe-node-23.1.0/,
git-ignored; a plain `pytest` finds them there afterwards. Without them the test fails and says how to fetch them:
it never downloads anything itself.
"""

import asyncio
import json
import re
from collections import defaultdict
from dataclasses import dataclass

import httpx
import pytest
import stripe

from stripe_emulator import EmulatorConfig, create_app
from stripe_emulator.config import API_VERSION

from . import scenario
from .checker import Checker, Fault
from .conftest import STRIPE_NODE

BASE_URL = 'http://emulator.test'

# Every Stripe object the run must have checked at least once: a scenario that stops covering one fails.
COVERED = {
    'Product', 'Price', 'Customer', 'DeletedCustomer', 'TaxId', 'DeletedTaxId', 'PaymentMethod', 'Checkout.Session',
    'LineItem', 'Subscription', 'SubscriptionItem', 'Invoice', 'InvoiceLineItem', 'InvoicePayment', 'PaymentIntent',
    'SetupIntent', 'Charge', 'Refund', 'Dispute', 'Mandate', 'TestHelpers.TestClock', 'TestHelpers.DeletedTestClock',
    'SubscriptionSchedule',
}  # fmt: skip

# The faults the emulator still has, as (Stripe object, JSON path inside it, kind). `[]` stands for any list index;
# `*` in a path matches anything. Fix the emulator, then delete the entry: an entry that no longer occurs fails.
KNOWN_FAULTS: set[tuple[str, str, str]] = set()


@dataclass
class Exchange:
    method: str
    target: str  # path and query
    status: int
    body: object

    def __str__(self) -> str:
        return f'{self.method} {self.target}'


@dataclass
class Observation:
    exchanges: list[Exchange]
    faults: list[Fault]
    checker: Checker
    events: int


class _RecordingHTTPClient(stripe.HTTPXClient):
    """The SDK's own httpx client, talking to the emulator app in-process, keeping every response body."""

    def __init__(self, app, exchanges: list[Exchange]) -> None:
        super().__init__()

        async def record(response: httpx.Response) -> None:
            await response.aread()
            url = response.request.url
            target = url.raw_path.decode()
            exchanges.append(
                Exchange(response.request.method, target, response.status_code, json.loads(response.content))
            )

        self._client_async = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), event_hooks={'response': [record]}
        )


@pytest.fixture(scope='module')
def observed(stripe_types, tmp_path_factory) -> Observation:
    app = create_app(EmulatorConfig(data_dir=tmp_path_factory.mktemp('emulator'), base_url=BASE_URL, mount_path=''))
    emulator = app.state.emulator
    exchanges: list[Exchange] = []

    async def run() -> None:
        http_client = _RecordingHTTPClient(app, exchanges)
        client = stripe.StripeClient(emulator.api_key, base_addresses={'api': BASE_URL}, http_client=http_client)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as hosted:
            await scenario.run(client.v1, hosted)

    try:
        asyncio.run(run())
    finally:
        emulator.close()
    checker = Checker(stripe_types)
    faults, events = [], 0
    for exchange in exchanges:
        where = str(exchange)
        if exchange.status == 200:  # an event's data.object is checked as the type of its event says
            faults += checker.check(exchange.body, where=where)
            events += len(_events(exchange.body))
        else:  # an error: the objects it carries (the payment intent of a declined card, say)
            for name, value in exchange.body.get('error', {}).items():
                if isinstance(value, dict) and 'object' in value:
                    faults += checker.check(value, where=f'{where} ({exchange.status}) error.{name}')
    return Observation(exchanges, faults, checker, events)


def _events(body: dict) -> list[dict]:
    if body.get('object') == 'event':
        return [body]
    if body.get('object') == 'list':
        return [item for item in body['data'] if item.get('object') == 'event']
    return []


def _known(fault: Fault) -> tuple[str, str, str] | None:
    for entry in KNOWN_FAULTS:
        resource, pattern, kind = entry
        if (fault.resource, fault.kind) == (resource, kind) and _glob(pattern).fullmatch(fault.path):
            return entry
    return None


def _glob(pattern: str) -> re.Pattern:
    return re.compile('.*'.join(re.escape(part) for part in pattern.split('*')))


def _report(faults: list[Fault]) -> str:
    """The faults grouped by Stripe object and path, each with how often and where it was first seen."""
    grouped: dict[str, dict[tuple[str, str], list[Fault]]] = defaultdict(lambda: defaultdict(list))
    for fault in faults:
        grouped[fault.resource][(fault.path, fault.kind)].append(fault)
    lines = []
    for resource in sorted(grouped):
        lines.append(f'{resource}:')
        for (path, kind), seen in sorted(grouped[resource].items()):
            details = sorted({fault.detail for fault in seen})
            lines.append(f'  ({resource!r}, {path!r}, {kind!r}),  # {details[0]}')
            lines.extend(f'      # also: {detail}' for detail in details[1:3])
            lines.append(f'      # {len(seen)}x, first at {seen[0].where}')
    return '\n'.join(lines)


def test_the_types_are_stripe_node_23_1_0_at_the_emulators_api_version(stripe_types):
    assert stripe_types.version == STRIPE_NODE == '23.1.0'
    assert stripe_types.api_version == API_VERSION == '2026-10-28.endive'


def test_every_response_matches_stripe_node_types(observed):
    unexpected = [fault for fault in observed.faults if _known(fault) is None]
    checked = len(observed.exchanges)
    print(f'{checked} responses and {observed.events} events checked; objects: {dict(observed.checker.seen)}')
    assert not unexpected, (
        f'{len(unexpected)} faults against the stripe-node {STRIPE_NODE} types in {checked} responses:\n'
        + _report(unexpected)
    )


def test_every_known_fault_still_occurs(observed):
    occurring = {_known(fault) for fault in observed.faults}
    gone = sorted(KNOWN_FAULTS - occurring)
    assert not gone, 'fixed (or no longer seen): delete these from KNOWN_FAULTS:\n' + '\n'.join(map(repr, gone))


def test_the_run_covers_every_resource_the_emulator_serves(observed):
    missing = COVERED - set(observed.checker.seen)
    assert not missing, f'the scenario checked no {sorted(missing)}'
    assert observed.events > 50
    assert any(exchange.status == 402 for exchange in observed.exchanges)  # the declined change's error

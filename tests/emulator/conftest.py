"""Fixtures for the emulator tests: a served emulator and SDK clients for it (and for real Stripe, if configured)."""

import asyncio
import os
import time
import uuid

import pytest
import pytest_asyncio
import stripe

from .serving import EmulatorServer

REAL_STRIPE_KEY = os.environ.get('STRIPE_TEST_SECRET_KEY')


@pytest.fixture(scope='session')
def emulator_server(tmp_path_factory):
    server = EmulatorServer(tmp_path_factory.mktemp('emulator-data')).start()
    yield server
    server.stop()


class Backend:
    """One Stripe to test against: the emulator or real Stripe test mode, behind the real SDK."""

    def __init__(self, kind: str, client: stripe.StripeClient) -> None:
        self.kind = kind
        self.client = client
        self.v1 = client.v1

    @property
    def is_emulator(self) -> bool:
        return self.kind == 'emulator'

    async def advance_clock(self, clock_id: str, frozen_time: int) -> None:
        """Advance a test clock and wait until it is ready (Stripe advances asynchronously)."""
        clock = await self.v1.test_helpers.test_clocks.advance_async(clock_id, params={'frozen_time': frozen_time})
        deadline = time.monotonic() + 120
        while clock.status != 'ready':
            assert time.monotonic() < deadline, 'test clock did not become ready'
            await asyncio.sleep(1)
            clock = await self.v1.test_helpers.test_clocks.retrieve_async(clock_id)


@pytest_asyncio.fixture(params=['emulator', 'stripe'])
async def backend(request):
    if request.param == 'stripe':
        if not REAL_STRIPE_KEY:
            pytest.skip('STRIPE_TEST_SECRET_KEY is not set: real-Stripe conformance skipped')
        client = stripe.StripeClient(REAL_STRIPE_KEY, max_network_retries=2)
    else:
        server = request.getfixturevalue('emulator_server')
        client = stripe.StripeClient(server.emulator.api_key, base_addresses={'api': server.api_url})
    return Backend(request.param, client)


@pytest.fixture
def emulator_client(emulator_server) -> stripe.StripeClient:
    """An SDK client for emulator-only tests."""
    return stripe.StripeClient(emulator_server.emulator.api_key, base_addresses={'api': emulator_server.api_url})


def unique(prefix: str = 'test') -> str:
    return f'{prefix}-{uuid.uuid4().hex[:12]}'

"""examples/product/ end to end, against `python main.py`: it checks entitlements, spends a token once per report
with an idempotency key, and verifies Portico's webhooks with the Standard Webhooks library."""

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.billing_helpers import subscribe_through_stripe
from tests.conftest import LiveServer, example_product, free_port
from tests.helpers import PASSWORD
from tests.product_receiver import SECRET

PRODUCT_PORT = free_port()


@pytest.fixture
def product_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('PRODUCT_WEBHOOK_URL', f'http://127.0.0.1:{PRODUCT_PORT}/webhooks/portico')
    monkeypatch.setenv('PRODUCT_WEBHOOK_SECRET', SECRET)


@pytest.fixture
def product(product_env, live_server: LiveServer, tmp_path: Path) -> Iterator[str]:
    made = live_server.cli('api-key', 'create', '--name', 'example product')
    assert made.returncode == 0, made.stderr
    env = {**live_server.env, 'PORTICO_URL': live_server.url, 'PORTICO_API_KEY': made.stdout.strip(),
           'PORTICO_WEBHOOK_SECRET': SECRET, 'PORT': str(PRODUCT_PORT)}  # fmt: skip
    with example_product(env, tmp_path / 'product.log') as url:
        yield url


async def test_the_example_product_checks_spends_once_and_hears_portico(
    product_env, live_server: LiveServer, product: str
) -> None:
    created = live_server.cli('create-admin', '--organization', 'Example Org', '--name', 'E', '--email',
                              'e@example.com', '--password', '-', stdin=PASSWORD + '\n')  # fmt: skip
    organization = int(re.search(r'organization id (\d+)', created.stdout).group(1))
    async with httpx.AsyncClient(timeout=20) as client:
        out_of_tokens = await client.get(f'{product}/organizations/{organization}/reports/r1')
        assert out_of_tokens.status_code == 402 and out_of_tokens.json()['balance'] == 0  # a live trial, no tokens
        await subscribe_through_stripe(live_server, organization, plan='flexible')
        assert 'example product' in live_server.cli('api-key', 'list').stdout
        await _grant(live_server, organization)
        first = await client.get(f'{product}/organizations/{organization}/reports/r1')
        assert first.status_code == 200 and first.json() == {'report': 'r1', 'plan': 'Flexible', 'tokens_left': 9}
        again = await client.get(f'{product}/organizations/{organization}/reports/r1')
        assert again.json()['tokens_left'] == 9  # the same report: the same token
        assert (await client.get(f'{product}/organizations/{organization}/reports/r2')).json()['tokens_left'] == 8
        deadline = time.monotonic() + 20
        while True:
            heard = (await client.get(f'{product}/events')).json()
            if any(event['type'] == 'subscription.updated' for event in heard):
                break
            assert time.monotonic() < deadline, heard
            await asyncio.sleep(0.2)
    [told] = [event for event in heard if event['type'] == 'subscription.updated']
    assert told['data']['organization_id'] == organization and told['data']['plan'] == 'flexible'
    assert told['data']['is_live'] is True


async def _grant(server: LiveServer, organization: int) -> None:
    made = server.cli('api-key', 'create', '--name', 'test grants')
    async with httpx.AsyncClient(base_url=f'{server.url}/api/v1', timeout=10,
                                 headers={'authorization': f'Bearer {made.stdout.strip()}'}) as api:  # fmt: skip
        body = {'amount': 10, 'idempotency_key': 'example-start', 'reason': 'to start'}
        granted = await api.post(f'/organizations/{organization}/tokens/grant', json=body)
        assert granted.status_code == 200, granted.text

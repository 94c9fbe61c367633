"""Against `python main.py`: product webhooks survive a kill -9 between the change and its delivery, and
schemathesis finds the product API as its OpenAPI document says, with a valid key and with bad ones."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from db.models import ProductWebhook
from tests.billing_helpers import subscribe_through_stripe
from tests.conftest import ROOT, LiveServer, free_port
from tests.helpers import PASSWORD
from tests.product_receiver import SECRET, Receiver


@pytest.fixture
def product_port(monkeypatch: pytest.MonkeyPatch) -> int:
    port = free_port()
    monkeypatch.setenv('PRODUCT_WEBHOOK_URL', f'http://127.0.0.1:{port}/portico')
    monkeypatch.setenv('PRODUCT_WEBHOOK_SECRET', SECRET)
    return port


async def test_webhooks_queued_before_a_kill_9_are_delivered_once_after_the_restart(
    product_port: int, live_server: LiveServer, db, tmp_path: Path
) -> None:
    created = live_server.cli('create-admin', '--organization', 'Killed Org', '--name', 'K', '--email',
                              'k@example.com', '--password', '-', stdin=PASSWORD + '\n')  # fmt: skip
    organization_id = int(re.search(r'organization id (\d+)', created.stdout).group(1))
    await subscribe_through_stripe(live_server, organization_id)  # Stripe's webhook → the mirror → subscription.updated
    deadline = time.monotonic() + 20
    while not await ProductWebhook.filter(type='subscription.updated').exists():
        assert time.monotonic() < deadline, 'the change was not queued'
        await asyncio.sleep(0.1)
    live_server.process.send_signal(signal.SIGKILL)  # the product was down: nothing was delivered yet
    live_server.process.wait(timeout=10)
    queued = await ProductWebhook.filter(delivered_at=None).values_list('message_id', flat=True)
    assert queued

    receiver = Receiver(port=product_port, secret=SECRET).start()
    log = (tmp_path / 'restarted.log').open('w')
    restarted = subprocess.Popen(  # noqa: ASYNC220 - the server under test, started once
        [sys.executable, 'main.py'], cwd=ROOT, env=live_server.env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        await asyncio.to_thread(receiver.wait_for, len(queued), 30)
        await asyncio.sleep(1.0)  # a second delivery of anything would come now
        assert sorted(delivery.webhook_id for delivery in receiver.deliveries) == sorted(queued)  # each exactly once
        assert receiver.refused == []
        assert [d.event['data']['organization_id'] for d in receiver.deliveries if
                d.event['type'] == 'subscription.updated'] == [organization_id]  # fmt: skip
    finally:
        restarted.terminate()
        restarted.wait(timeout=20)
        receiver.stop()
        log.close()


def test_schemathesis_finds_the_api_as_documented_with_a_valid_key_and_with_bad_ones(
    live_server: LiveServer, tmp_path: Path
) -> None:
    made = live_server.cli('api-key', 'create', '--name', 'fuzz')
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    created = live_server.cli('create-admin', '--organization', 'Fuzz Org', '--name', 'F', '--email',
                              'f@example.com', '--password', '-', stdin=PASSWORD + '\n')  # fmt: skip
    assert created.returncode == 0
    spec = httpx.get(f'{live_server.url}/api/v1/openapi.json').json()
    (tmp_path / 'api.json').write_text(json.dumps(spec))
    for name, headers in {'a valid key': ['-H', f'Authorization: Bearer {key}'],
                          'a wrong key': ['-H', 'Authorization: Bearer pk_test_wrongwrongwrong'],
                          'no key': []}.items():  # fmt: skip
        result = subprocess.run(
            [str(Path(sys.executable).with_name('st')), 'run', str(tmp_path / 'api.json'),
             '--url', f'{live_server.url}/api', '--checks',
             'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance',
             '--max-examples', os.environ.get('FUZZ_EXAMPLES', '8'), '--seed', '11', '--workers', '2',
             '--phases', 'examples,coverage,fuzzing', '--generation-database', 'none', '--no-color',
             '--suppress-health-check', 'all', *headers],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, f'{name}:\n{result.stdout[-6000:]}{result.stderr[-2000:]}'
    assert 'Traceback' not in (tmp_path / 'server.log').read_text()

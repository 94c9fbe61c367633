"""Token consumption over HTTP: 50 concurrent clients for 20 s, spending from one organization and from 100.

Starts `python main.py` on a free port with a fresh DATA_DIR (SQLite, or PostgreSQL with --postgres URL of an empty
database), makes 101 organizations, an API key and a balance for each, then measures:
- Portico's `POST /api/v1/organizations/{id}/tokens/consume` (key check, entitlements, idempotency record,
  conditional UPDATE, ledger row, in one transaction), with a fresh idempotency key per request;
- the floor, in the same run: a bare FastAPI endpoint (uvicorn, Tortoise, the same database) that does only the
  single conditional `UPDATE billing_accounts SET token_balance = token_balance - 1 WHERE … AND token_balance >= 1`.
It checks that the successful debits add up exactly to each balance's change: no lost and no double debit.

Run: .venv/bin/python benchmarks/token_consume.py [--postgres postgres://user@host/db] [--seconds 20] [--clients 50]
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ORGANIZATIONS = 100
START_BALANCE = 10**9

FLOOR = """
import sys
from contextlib import asynccontextmanager
from fastapi import FastAPI
from tortoise import Tortoise
from tortoise.contrib.fastapi import RegisterTortoise
from tortoise.expressions import F
import uvicorn
from db.config import tortoise_config
from db.models import BillingAccount

app = FastAPI()

@app.post('/consume/{organization_id}')
async def consume(organization_id: int):
    debited = await BillingAccount.filter(organization_id=organization_id, token_balance__gte=1).update(
        token_balance=F('token_balance') - 1)
    return {'debited': debited}

@asynccontextmanager
async def lifespan(app):
    async with RegisterTortoise(app=app, config=tortoise_config(sys.argv[1]), _enable_global_fallback=True):
        yield

app.router.lifespan_context = lifespan
uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


async def main(args: argparse.Namespace) -> None:
    data_dir = tempfile.mkdtemp(prefix='portico-bench-')
    database = args.postgres or f'sqlite://{data_dir}/portico.sqlite3'
    port, floor_port = free_port(), free_port()
    env = {**os.environ, 'DATA_DIR': data_dir, 'PORT': str(port), 'DATABASE_URL': database}
    run = [sys.executable, 'main.py']
    subprocess.run([*run, 'migrate'], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: ASYNC221
    key = subprocess.run([*run, 'api-key', 'create', '--name', 'bench'], cwd=ROOT, env=env, check=True,  # noqa: ASYNC221
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    organizations = await seed(database)
    server = subprocess.Popen(run, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)  # noqa: ASYNC220
    floor = subprocess.Popen([sys.executable, '-c', FLOOR, database, str(floor_port)], cwd=ROOT,  # noqa: ASYNC220
                             env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        await ready(f'http://127.0.0.1:{port}/login')
        await ready(f'http://127.0.0.1:{floor_port}/docs')
        print(
            f'load average at the start: {", ".join(f"{value:.2f}" for value in os.getloadavg())}; '
            f'database: {"PostgreSQL" if args.postgres else "SQLite"}; {args.clients} clients, {args.seconds} s each'
        )
        for label, targets in (('one organization', organizations[:1]), ('100 organizations', organizations[1:])):
            before = await balances(database, targets)
            portico = await drive(args, targets, lambda client, org, n, label=label: client.post(
                f'http://127.0.0.1:{port}/api/v1/organizations/{org}/tokens/consume',
                json={'amount': 1, 'idempotency_key': f'{label[:3]}-{org}-{n}-{time.monotonic_ns()}'},
                headers={'authorization': f'Bearer {key}'}))  # fmt: skip
            after = await balances(database, targets)
            exact = sum(before.values()) - sum(after.values()) == portico['ok']
            floor_run = await drive(args, targets, lambda client, org, n: client.post(
                f'http://127.0.0.1:{floor_port}/consume/{org}'))  # fmt: skip
            report(f'Portico, {label}', portico, exact)
            report(f'floor,   {label}', floor_run, None)
            print(f'  Portico / floor throughput: {portico["rps"] / floor_run["rps"]:.2f}')
    finally:
        for process in (server, floor):
            process.terminate()
            process.wait(timeout=20)


async def drive(args: argparse.Namespace, targets: list[int], send) -> dict:
    latencies: list[float] = []
    counts = {'ok': 0, 'other': 0}
    stop = time.monotonic() + args.seconds
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def one(worker: int) -> None:
            n = 0
            while time.monotonic() < stop:
                org = targets[(worker + n) % len(targets)]
                started = time.perf_counter()
                response = await send(client, org, n)
                latencies.append((time.perf_counter() - started) * 1000)
                counts['ok' if response.status_code == 200 else 'other'] += 1
                n += 1

        started = time.monotonic()
        await asyncio.gather(*(one(worker) for worker in range(args.clients)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return {'rps': len(latencies) / elapsed, 'p50': _pct(latencies, 50), 'p95': _pct(latencies, 95),
            'p99': _pct(latencies, 99), **counts}  # fmt: skip


def report(label: str, run: dict, exact: bool | None) -> None:
    check = '' if exact is None else f'; debits add up exactly: {"yes" if exact else "NO"}'
    print(f'{label}: {run["rps"]:7.1f} req/s, p50 {run["p50"]:6.1f} ms, p95 {run["p95"]:6.1f} ms, '
          f'p99 {run["p99"]:6.1f} ms, {run["ok"]} debited, {run["other"]} other{check}')  # fmt: skip


def _pct(values: list[float], percent: int) -> float:
    return values[min(len(values) - 1, int(len(values) * percent / 100))] if values else 0.0


async def seed(database: str) -> list[int]:
    from db.config import open_database
    from db.models import BillingAccount, Organization

    async with open_database(database):
        ids = []
        for number in range(ORGANIZATIONS + 1):
            organization = await Organization.create(name=f'Bench {number}')
            await BillingAccount.create(organization_id=organization.id, token_balance=START_BALANCE)
            ids.append(organization.id)
    return ids


async def balances(database: str, organizations: list[int]) -> dict[int, int]:
    from db.config import open_database
    from db.models import BillingAccount

    async with open_database(database):
        rows = await BillingAccount.filter(organization_id__in=organizations).values('organization_id', 'token_balance')
    return {row['organization_id']: row['token_balance'] for row in rows}


async def ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                await client.get(url, timeout=1)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f'{url} did not answer')


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--postgres', default='')
    parser.add_argument('--seconds', type=float, default=20)
    parser.add_argument('--clients', type=int, default=50)
    asyncio.run(main(parser.parse_args()))

"""`GET /api/v1/organizations/{id}` at 100 and at 100,000 users: latency, and the same number of queries at both.

Seeds two organizations with `python main.py seed-demo`, starts the real server (main.py, through a bootstrap that
logs every SQL statement Tortoise runs to a file, as benchmarks/users_page.py does), then asks each organization's
entitlements 300 times, the sizes taking turns, and counts the statements of one request of each.

Run: .venv/bin/python benchmarks/api_entitlements.py [--postgres postgres://user@host/empty_db]
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
SIZES = (100, 100_000)
ROUNDS = 300
BOOTSTRAP = """
import logging, runpy, sys
handler = logging.FileHandler(sys.argv[1], encoding='utf-8')
query_log = logging.getLogger('tortoise.db_client')
query_log.setLevel(logging.DEBUG)
query_log.propagate = False
query_log.addHandler(handler)
sys.argv = ['main.py']
runpy.run_path('main.py', run_name='__main__')
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


async def main(args: argparse.Namespace) -> None:
    data_dir = tempfile.mkdtemp(prefix='portico-bench-')
    database = args.postgres or f'sqlite://{data_dir}/portico.sqlite3'
    port = free_port()
    env = {**os.environ, 'DATA_DIR': data_dir, 'PORT': str(port), 'DATABASE_URL': database}
    run = [sys.executable, 'main.py']
    ids = {}
    for size in SIZES:
        seeded = subprocess.run([*run, 'seed-demo', '--users', str(size), '--organization', f'Size {size}'],  # noqa: ASYNC221
                                cwd=ROOT, env=env, check=True, capture_output=True, text=True)  # fmt: skip
        assert seeded.returncode == 0
    key = subprocess.run([*run, 'api-key', 'create', '--name', 'bench'], cwd=ROOT, env=env, check=True,  # noqa: ASYNC221
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    queries = Path(data_dir) / 'queries.log'
    server = subprocess.Popen([sys.executable, '-c', BOOTSTRAP, str(queries)], cwd=ROOT, env=env,  # noqa: ASYNC220
                              stdout=subprocess.DEVNULL)  # fmt: skip
    headers = {'authorization': f'Bearer {key}'}
    try:
        async with httpx.AsyncClient(base_url=f'http://127.0.0.1:{port}/api/v1', headers=headers, timeout=10) as api:
            for _ in range(300):
                try:
                    listed = (await api.get('/organizations', params={'limit': 10})).json()
                    break
                except (httpx.HTTPError, ValueError):
                    await asyncio.sleep(0.1)
            for organization in listed['data']:
                ids[int(organization['name'].split()[-1])] = organization['id']
            print(f'load average at the start: {", ".join(f"{v:.2f}" for v in os.getloadavg())}; database: '
                  f'{"PostgreSQL" if args.postgres else "SQLite"}')  # fmt: skip
            timings: dict[int, list[float]] = {size: [] for size in SIZES}
            for _ in range(ROUNDS):
                for size in SIZES:
                    started = time.perf_counter()
                    (await api.get(f'/organizations/{ids[size]}')).raise_for_status()
                    timings[size].append((time.perf_counter() - started) * 1000)
            counts = {size: await _statements(api, queries, ids[size]) for size in SIZES}
    finally:
        server.terminate()
        server.wait(timeout=20)
    for size in SIZES:
        values = sorted(timings[size])
        print(f'{size:>7,} users: p50 {values[len(values) // 2]:5.1f} ms, p95 {values[int(len(values) * 0.95)]:5.1f} '
              f'ms, {counts[size]} statements per request')  # fmt: skip
    print(f'same number of statements at both sizes: {"yes" if len(set(counts.values())) == 1 else "NO"}')


async def _statements(api: httpx.AsyncClient, log: Path, organization_id: int) -> int:
    await asyncio.sleep(0.5)
    before = len(_lines(log))
    (await api.get(f'/organizations/{organization_id}')).raise_for_status()
    await asyncio.sleep(0.5)
    verbs = {'SELECT', 'UPDATE', 'INSERT', 'DELETE'}
    return sum(1 for line in _lines(log)[before:] if line.lstrip().split(' ', 1)[0].upper() in verbs)


def _lines(log: Path) -> list[str]:
    return log.read_text(encoding='utf-8', errors='replace').splitlines()


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--postgres', default='')
    asyncio.run(main(parser.parse_args()))

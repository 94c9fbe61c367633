"""Does login stall the server? 10 browsers log in at once while another client keeps opening a page.

Starts `python main.py` on a free port with a fresh DATA_DIR (SQLite), creates an admin, then measures:
- the other client's page-open time (GET /login, full server render) when idle, as the baseline;
- the same while 10 headless-Chromium logins (argon2 verification, ~100 ms of CPU each) run at once.

Run: .venv/bin/python benchmarks/login_concurrency.py
"""

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = 'benchmark password 123'
LOGINS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


async def time_page_opens(client: httpx.AsyncClient, url: str, stop: asyncio.Event) -> list[float]:
    timings = []
    while not stop.is_set():
        started = time.perf_counter()
        response = await client.get(url)
        response.raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.01)
    return timings


async def main() -> None:
    data_dir = tempfile.mkdtemp(prefix='portico-bench-')
    port = free_port()
    env = {**os.environ, 'DATA_DIR': data_dir, 'PORT': str(port)}
    env.pop('DATABASE_URL', None)
    create = [sys.executable, 'main.py', 'create-admin', '--organization', 'Bench', '--name', 'Bench Admin']
    admin = [*create, '--email', 'bench@example.com', '--password', PASSWORD]
    subprocess.run(admin, cwd=ROOT, env=env, check=True)  # noqa: ASYNC221 - set-up, before anything is timed
    server = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, 'main.py'], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    url = f'http://127.0.0.1:{port}'
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(100):
                try:
                    await client.get(f'{url}/login')
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            idle = await _idle_timings(client, f'{url}/login')
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path='/usr/bin/chromium',
                    args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
                )
                pages = []
                for _ in range(LOGINS):
                    page = await (await browser.new_context()).new_page()
                    await page.goto(f'{url}/login')
                    await page.get_by_label('Email').fill('bench@example.com')
                    await page.get_by_label('Password').fill(PASSWORD)
                    pages.append(page)
                stop = asyncio.Event()
                probe = asyncio.create_task(time_page_opens(client, f'{url}/login', stop))
                started = time.perf_counter()
                await asyncio.gather(*(page.get_by_role('button', name='Log in').click() for page in pages))
                await asyncio.gather(*(page.wait_for_url('**/admin', timeout=30_000) for page in pages))
                all_logged_in = (time.perf_counter() - started) * 1000
                stop.set()
                busy = await probe
                await browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f'{LOGINS} concurrent logins finished in {all_logged_in:.0f} ms (all pages on /admin)')
    print(f'other client, idle:             median {statistics.median(idle):6.1f} ms, max {max(idle):6.1f} ms')
    print(
        f'other client, during logins:    median {statistics.median(busy):6.1f} ms, max {max(busy):6.1f} ms '
        f'({len(busy)} page opens)'
    )
    print(f'ratio of medians (busy / idle): {statistics.median(busy) / statistics.median(idle):.2f}')
    elapsed, lag = await loop_lag_during_verifies()
    print(f'in-process: {LOGINS} argon2 verifications took {elapsed:.0f} ms; worst event-loop lag {lag:.1f} ms')


async def loop_lag_during_verifies() -> tuple[float, float]:
    """In-process: the event loop's worst lag while 10 password checks run, as `authenticate` runs them."""
    sys.path.insert(0, str(ROOT))
    from services.auth import hash_password, verify_password

    password_hash = await hash_password(PASSWORD)
    lags: list[float] = []

    async def tick() -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append((time.perf_counter() - started - 0.005) * 1000)

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    await asyncio.gather(*(verify_password(PASSWORD, password_hash) for _ in range(LOGINS)))
    elapsed = (time.perf_counter() - started) * 1000
    ticker.cancel()
    return elapsed, max(lags)


async def _idle_timings(client: httpx.AsyncClient, url: str) -> list[float]:
    timings = []
    for _ in range(30):
        started = time.perf_counter()
        (await client.get(url)).raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


if __name__ == '__main__':
    asyncio.run(main())

"""Does login stall the server? Browsers log in at once while other clients keep opening pages.

Starts `python main.py` on a free port with a fresh DATA_DIR (SQLite), creates an admin, then measures:
- another client's page-open time (GET /login, full server render) when idle, as the baseline;
- the same while 10 headless-Chromium logins (argon2 verification, ~100 ms of CPU each) run at once;
- a logged-in admin's page opens (GET /admin with the admin's session cookie, full server render) while idle, and
  while a flood of 50 parallel logins with random emails comes from one address: at most 30 of them are checked
  (the per-address limit), and at most one password hash per core runs at a time.

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
FLOOD = 50


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
    load = ', '.join(f'{value:.2f}' for value in os.getloadavg())
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
                flood = await _flood(browser, client, url, pages[0])
                await browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f'load average at the start: {load}')
    print(f'{LOGINS} concurrent logins finished in {all_logged_in:.0f} ms (all pages on /admin)')
    print(f'other client, idle:             median {statistics.median(idle):6.1f} ms, max {max(idle):6.1f} ms')
    print(
        f'other client, during logins:    median {statistics.median(busy):6.1f} ms, max {max(busy):6.1f} ms '
        f'({len(busy)} page opens)'
    )
    print(f'ratio of medians (busy / idle): {statistics.median(busy) / statistics.median(idle):.2f}')
    admin_idle, admin_busy, refused, checked, took = flood
    print(
        f'{FLOOD} parallel logins with random emails from one address: {checked} checked and refused as wrong, '
        f'{refused} refused by the address limit, all answered after {took:.0f} ms'
    )
    print(
        f"logged-in admin's /admin, idle:         median {statistics.median(admin_idle):6.1f} ms, "
        f'max {max(admin_idle):6.1f} ms'
    )
    print(
        f"logged-in admin's /admin, during flood: median {statistics.median(admin_busy):6.1f} ms, "
        f'max {max(admin_busy):6.1f} ms ({len(admin_busy)} page opens)'
    )
    print(f'ratio of medians (flood / idle): {statistics.median(admin_busy) / statistics.median(admin_idle):.2f}')
    elapsed, lag = await loop_lag_during_verifies()
    print(f'in-process: {LOGINS} argon2 verifications took {elapsed:.0f} ms; worst event-loop lag {lag:.1f} ms')


async def loop_lag_during_verifies() -> tuple[float, float]:
    """In-process: the event loop's worst lag while 10 password checks run, as `authenticate` runs them."""
    sys.path.insert(0, str(ROOT))
    from services.passwords import hash_password, verify_password

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


async def _flood(browser, client: httpx.AsyncClient, url: str, admin_page) -> tuple:
    """FLOOD logins with random emails from one browser (one address) while the admin opens /admin."""
    cookies = {cookie['name']: cookie['value'] for cookie in await admin_page.context.cookies()}
    admin = httpx.AsyncClient(timeout=30, cookies=cookies)
    try:
        idle = await _idle_timings(admin, f'{url}/admin')
        context = await browser.new_context()
        pages = []
        for number in range(FLOOD):
            page = await context.new_page()
            await page.goto(f'{url}/login')
            await page.get_by_label('Email').fill(f'random-{number}-{os.urandom(4).hex()}@example.com')
            await page.get_by_label('Password').fill('a wrong password')
            pages.append(page)
        stop = asyncio.Event()
        probe = asyncio.create_task(time_page_opens(admin, f'{url}/admin', stop))
        started = time.perf_counter()
        await asyncio.gather(*(page.get_by_role('button', name='Log in').click() for page in pages))
        answers = await asyncio.gather(*(_answer(page) for page in pages))
        took = (time.perf_counter() - started) * 1000
        stop.set()
        busy = await probe
        refused = sum('from your network' in answer for answer in answers)
        checked = sum('Wrong email or password' in answer for answer in answers)
        await context.close()
    finally:
        await admin.aclose()
    return idle, busy, refused, checked, took


async def _answer(page) -> str:
    message = page.get_by_text('Wrong email or password').or_(page.get_by_text('from your network'))
    await message.first.wait_for(timeout=60_000)
    return await message.first.inner_text()


async def _idle_timings(client: httpx.AsyncClient, url: str) -> list[float]:
    timings = []
    for _ in range(30):
        started = time.perf_counter()
        (await client.get(url)).raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


if __name__ == '__main__':
    asyncio.run(main())

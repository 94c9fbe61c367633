"""Does the Users page stay quick and lean as an organization grows? Measured against the issue's targets.

In a fresh DATA_DIR (SQLite), `python main.py seed-demo` fills three organizations of 100, 10,000 and 100,000
users. Then:
- in-process, before the server starts: the server-side time of a search on 100,000 users (`UserDirectory.page`,
  the call the page makes) and, for context, of the unsearched first page at each size;
- the real server (`main.py`, run through a bootstrap that logs every SQL statement Tortoise executes to a file)
  and headless Chromium: per size, log in once, then time 10 fresh loads of /admin until the first page of 25 users
  is visible, and count the statements each load executes. The sizes take turns, so a busy moment of the machine
  hits them alike;
- the floor: the same measure for a static HTML page holding the same 25 rows, served over loopback HTTP;
- memory: the server's resident memory per connected admin, with 30 browser pages open on the 10,000-user
  organization's /admin, against the same server with no page open;
- beyond the targets: what 30 pages opening /admin at the same moment see, the server's part of a page load
  (GET /admin over plain HTTP) and the warnings the server logged.

Run: .venv/bin/python benchmarks/users_page.py        (about three minutes on two cores)
"""

import asyncio
import functools
import html
import http.server
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path

import httpx
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

ROOT = Path(__file__).resolve().parent.parent
SIZES = (100, 10_000, 100_000)
LOADS = 10
PAGE_ROWS = 25
CLIENTS = 30
MEMORY_SIZE = 10_000
SEARCH_SIZE = 100_000
SEARCH_TERMS = ('zoe', 'garcia', 'ada.smith', 'no-such-user')
SEARCH_RUNS = 20
SETTLE_S = 1.0
# NiceGUI deletes a disconnected page's client after `reconnect_timeout` (3 s by default).
CLIENT_DELETION_S = 4.5
OPEN_AT_ONCE = 3
BURST_WAIT_S = 30
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking']
NUMBER = re.compile(r'[0-9]+(\.[0-9]+)?')
SQL = re.compile(
    r'^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|WITH|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)\b', re.I
)

# Runs main.py unchanged, after routing Tortoise's per-statement debug log (logger 'tortoise.db_client', one
# `log.debug('%s: %s', query, values)` per executed statement) into a file, one line per statement.
BOOTSTRAP = """
import logging, runpy, sys

class OneLine(logging.Formatter):
    def format(self, record):
        return ' '.join(record.getMessage().split())

handler = logging.FileHandler(sys.argv[1], encoding='utf-8')
handler.setFormatter(OneLine())
query_log = logging.getLogger('tortoise.db_client')
query_log.setLevel(logging.DEBUG)
query_log.propagate = False
query_log.addHandler(handler)
sys.argv = ['main.py']
runpy.run_path('main.py', run_name='__main__')
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def organization_name(size: int) -> str:
    return f'Bench {size}'


def seed(env: dict[str, str]) -> dict[int, tuple[str, str]]:
    """Seed one organization per size; returns each size's admin (email, password)."""
    admins = {}
    for size in SIZES:
        started = time.perf_counter()
        organization = ['--organization', organization_name(size)]
        command = [sys.executable, 'main.py', 'seed-demo', '--users', str(size), *organization]
        done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        last = done.stdout.strip().splitlines()[-1]
        found = re.search(r' as (\S+) with password (\S+)$', last)
        if not found:
            raise RuntimeError(f'seed-demo did not print the admin login: {last!r}')
        admins[size] = (found[1], found[2])
        print(f'seeded {size:>7,} users in {time.perf_counter() - started:4.1f} s', flush=True)
    return admins


async def in_process(data_dir: str, admins: dict[int, tuple[str, str]]) -> dict:
    """Server-side timings of `UserDirectory.page`, and the first page of 100 users for the static floor."""
    sys.path.insert(0, str(ROOT))
    from db.config import open_database
    from db.models import User
    from services.auth import Session, open_session
    from services.events import EventBus
    from services.mail import Mailer
    from services.product_webhooks import ProductWebhooks
    from services.settings import Settings
    from services.users import UserDirectory, UserQuery

    settings = Settings.from_env({'DATA_DIR': data_dir})
    users = UserDirectory(
        settings=settings, mailer=Mailer(settings), events=EventBus(), product=ProductWebhooks(settings)
    )

    async def median_ms(session: Session, query: UserQuery, runs: int = SEARCH_RUNS) -> float:
        await users.page(session=session, query=query)  # warm-up: SQLite's page cache
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            await users.page(session=session, query=query)
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings)

    async with open_database(settings.database_url):
        sessions = {}
        for size, (email, _) in admins.items():
            admin = await User.get(email=email)
            sessions[size] = await open_session(admin)  # a logged-in session, as after "Log in"
        first_page = await users.page(session=sessions[SIZES[0]], query=UserQuery())
        unsearched = {size: await median_ms(sessions[size], UserQuery()) for size in SIZES}
        searches = {}
        for term in SEARCH_TERMS:
            result = await users.page(session=sessions[SEARCH_SIZE], query=UserQuery(search=term))
            searches[term] = (await median_ms(sessions[SEARCH_SIZE], UserQuery(search=term)), result.total)
    return {'rows': first_page.rows, 'unsearched': unsearched, 'searches': searches}


def static_page(rows) -> str:
    """The floor: the same 25 rows as a plain HTML table, with the same accessible switches."""
    lines = []
    for user in rows:
        checked = ' checked' if user.is_enabled else ''
        when = user.last_login_at.strftime('%Y-%m-%d %H:%M') if user.last_login_at else 'Never'
        lines.append(
            f'<tr role="group" aria-label="{html.escape(user.name)}"><td>{html.escape(user.name)}</td>'
            f'<td>{html.escape(user.email)}</td><td>{user.role.value.title()}</td>'
            f'<td><input type="checkbox" role="switch" aria-label="Is enabled?"{checked}></td><td>{when}</td></tr>'
        )
    body = '\n'.join(lines)
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Users</title></head><body>\n'
        '<table><thead><tr><th>Name</th><th>Email</th><th>Role</th><th>Is enabled?</th><th>Last login</th></tr>'
        f'</thead><tbody>\n{body}\n</tbody></table></body></html>\n'
    )


def serve_static(directory: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=directory))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f'http://127.0.0.1:{server.server_address[1]}'


class QueryLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[str]:
        return self.path.read_text(encoding='utf-8').splitlines() if self.path.exists() else []


def tail(path: Path) -> str:
    return path.read_text(errors='replace')[-2000:]


async def cpu_share(pid: int, seconds: float = 5.0) -> float:
    """The share of one core the process used over the next `seconds`."""

    def used() -> float:
        fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')  # utime + stime

    start = used()
    await asyncio.sleep(seconds)
    return (used() - start) / seconds


def rss_kib(pid: int) -> int:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
    raise RuntimeError(f'no VmRSS for process {pid}')


def server_env(work: Path, **extra: str) -> dict[str, str]:
    """A benchmark server's environment: a fresh DATA_DIR under `work`, loopback, offline billing, no mail."""
    env = {**os.environ, 'DATA_DIR': str(work / 'data'), 'HOST': '127.0.0.1'}
    for name in ('DATABASE_URL', 'BASE_URL', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'SMTP_HOST', 'PORT'):
        env.pop(name, None)
    return {**env, **extra}


async def time_until(page: Page, url: str, items: Locator, count: int) -> float:
    """ms from navigation start until the PAGE_ROWS-th of `items` is visible; the page must show `count` of them."""
    started = time.perf_counter()
    await page.goto(url, wait_until='commit')
    await items.nth(PAGE_ROWS - 1).wait_for(state='visible', timeout=60_000)
    elapsed = (time.perf_counter() - started) * 1000
    if (shown := await items.count()) != count:
        raise RuntimeError(f'{url} shows {shown}, not {count}')
    return elapsed


async def time_to_visible(page: Page, url: str) -> float:
    """ms from navigation start until the 25th 'Is enabled?' switch is visible."""
    return await time_until(page, url, page.get_by_role('switch', name='Is enabled?'), PAGE_ROWS)


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


async def log_in(
    browser: Browser, base: str, email: str, password: str, *, form: str = '/login', user_field: str = 'Email',
    lands: str = '**/admin',
) -> BrowserContext:  # fmt: skip
    """A browser context logged in through a login form (Portico's, or Django admin's with its own arguments)."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f'{base}{form}')
    await page.get_by_label(user_field).fill(email)
    await page.get_by_label('Password').fill(password)
    await page.get_by_role('button', name='Log in').click()
    await page.wait_for_url(lands, timeout=30_000)
    return context


async def measure_loads(pages: dict, queries: QueryLog) -> tuple[dict, dict]:
    """LOADS timed loads of each page, in rotation so that the machine's varying load hits every size alike.

    `pages` maps a key to (page, url); a page of the portal also gets the statements each load executed, read after
    the page settled. One untimed load of each first.
    """
    timings: dict = {key: [] for key in pages}
    statements: dict = {key: [] for key in pages}
    for page, url in pages.values():
        await time_to_visible(page, url)
    await asyncio.sleep(SETTLE_S)
    for _ in range(LOADS):
        for key, (page, url) in pages.items():
            before = len(queries.lines())
            timings[key].append(await time_to_visible(page, url))
            await asyncio.sleep(SETTLE_S)
            statements[key].append(queries.lines()[before:])
    return timings, statements


async def server_render_ms(url: str, storage_state: dict) -> float:
    """Median ms of GET /admin over plain HTTP: the server's part of a page load, without the browser's."""
    cookies = {cookie['name']: cookie['value'] for cookie in storage_state['cookies']}
    timings = []
    async with httpx.AsyncClient(cookies=cookies, timeout=30) as client:
        for _ in range(LOADS + 1):
            started = time.perf_counter()
            response = await client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or 'Is enabled?' not in response.text:
                raise RuntimeError(f'GET {url} answered {response.status_code} without the users')
    return statistics.median(timings[1:])


async def measure_memory(browser: Browser, url: str, storage_state: dict, pid: int) -> dict[str, float]:
    """Server RSS (KiB) and idle CPU with no page open (after a warm-up load) and with CLIENTS pages open.

    The pages are opened a few at a time: opened all at once, most of them fail (see `burst`).
    """
    warm_up = await browser.new_context(storage_state=storage_state)
    await time_to_visible(await warm_up.new_page(), url)
    await warm_up.close()
    await asyncio.sleep(CLIENT_DELETION_S)
    before, idle_cpu = rss_kib(pid), await cpu_share(pid)
    contexts = [await browser.new_context(storage_state=storage_state) for _ in range(CLIENTS)]
    opening = asyncio.Semaphore(OPEN_AT_ONCE)

    async def open_page(context: BrowserContext) -> None:
        async with opening:
            await time_to_visible(await context.new_page(), url)

    await asyncio.gather(*(open_page(context) for context in contexts))
    await asyncio.sleep(3)  # websockets connected, nothing pending
    during, busy_cpu = rss_kib(pid), await cpu_share(pid)
    for context in contexts:
        await context.close()
    await asyncio.sleep(CLIENT_DELETION_S)
    return {'before': before, 'during': during, 'after': rss_kib(pid), 'idle_cpu': idle_cpu, 'busy_cpu': busy_cpu}


async def burst(browser: Browser, url: str, storage_state: dict) -> tuple[list[float], Counter]:
    """CLIENTS pages open /admin at the same moment: the times of those that show their users, and what the
    others show instead, after BURST_WAIT_S."""
    contexts = [await browser.new_context(storage_state=storage_state) for _ in range(CLIENTS)]
    pages = [await context.new_page() for context in contexts]

    async def open_page(page: Page) -> float | str:
        shown = page.get_by_role('switch', name='Is enabled?').nth(PAGE_ROWS - 1)
        failed = page.get_by_text('Server error')
        started = time.perf_counter()
        with suppress(PlaywrightTimeoutError):
            await page.goto(url, wait_until='commit', timeout=BURST_WAIT_S * 1000)
            await shown.or_(failed).first.wait_for(state='visible', timeout=BURST_WAIT_S * 1000)
        if await shown.is_visible():
            return (time.perf_counter() - started) * 1000
        if await failed.is_visible():
            text = ' '.join((await page.inner_text('body')).split())
            return f"NiceGUI's 500 page: {text.split('Server error', 1)[-1].strip()[:160]!r}"
        text = ' '.join((await page.inner_text('body')).split())
        return f'neither users nor an error after {BURST_WAIT_S} s ({page.url}): {text[:120]!r}'

    try:
        outcomes = await asyncio.gather(*(open_page(page) for page in pages))
    finally:
        for context in contexts:
            await context.close()
    await asyncio.sleep(CLIENT_DELETION_S)
    shown = [outcome for outcome in outcomes if isinstance(outcome, float)]
    return shown, Counter(outcome for outcome in outcomes if isinstance(outcome, str))


async def wait_until_serving(base: str, server: subprocess.Popen, log_path: Path, path: str = '/login') -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(300):
            if server.poll() is not None:
                raise RuntimeError(f'the server exited ({server.returncode}):\n{tail(log_path)}')
            with suppress(httpx.HTTPError):
                if (await client.get(f'{base}{path}')).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f'{base}{path} did not answer within 30 s:\n{tail(log_path)}')


async def wait_until_quiet(queries: QueryLog, quiet_s: float = 2.0, at_most_s: float = 60.0) -> None:
    """Start-up work in the background (e.g. a resync) must not be counted as a page load's queries."""
    deadline, last, since = time.monotonic() + at_most_s, -1, time.monotonic()
    while time.monotonic() < deadline:
        if (count := len(queries.lines())) != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        await asyncio.sleep(0.2)


async def in_browser(env: dict[str, str], work: Path, admins: dict[int, tuple[str, str]], rows) -> dict:
    (work / 'static').mkdir()
    (work / 'static' / 'users.html').write_text(static_page(rows), encoding='utf-8')
    static_server, static_base = serve_static(str(work / 'static'))
    port = free_port()
    base = f'http://127.0.0.1:{port}'
    queries = QueryLog(work / 'queries.log')
    server_log = work / 'server.log'
    results: dict = {}
    with server_log.open('w') as log_file:
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is timed
            [sys.executable, '-c', BOOTSTRAP, str(queries.path)],
            cwd=ROOT,
            env={**env, 'PORT': str(port)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            await wait_until_serving(base, server, server_log)
            await wait_until_quiet(queries)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path='/usr/bin/chromium', args=CHROMIUM_ARGS)
                try:
                    pages, storage_states = {'static': (await browser.new_page(), f'{static_base}/users.html')}, {}
                    for size in SIZES:
                        context = await log_in(browser, base, *admins[size])
                        storage_states[size] = await context.storage_state()
                        pages[size] = (context.pages[0], f'{base}/admin')
                    results['loads'], results['statements'] = await measure_loads(pages, queries)
                    for key, timings in results['loads'].items():
                        counts = sorted({len(load) for load in results['statements'][key]})
                        print(
                            f'{key!s:>7}: median {statistics.median(timings):4.0f} ms, statements {counts}', flush=True
                        )
                    for page, _ in pages.values():
                        await page.context.close()
                    await asyncio.sleep(CLIENT_DELETION_S)
                    state = storage_states[MEMORY_SIZE]
                    results['memory'] = await measure_memory(browser, f'{base}/admin', state, server.pid)
                    memory = results['memory']
                    print(
                        f'server RSS {memory["before"] / 1024:.1f} MiB with no page open, '
                        f'{memory["during"] / 1024:.1f} MiB with {CLIENTS}',
                        flush=True,
                    )
                    results['burst'] = await burst(browser, f'{base}/admin', state)
                    # Last: these plain GETs leave clients that never connect, until NiceGUI prunes them.
                    results['render'] = {
                        size: await server_render_ms(f'{base}/admin', storage_states[size]) for size in SIZES
                    }
                finally:
                    await browser.close()
        finally:
            stop_server(server)
            static_server.shutdown()
            static_server.server_close()
    results['warnings'] = logged_warnings(server_log)
    return results


def logged_warnings(log_path: Path) -> Counter:
    """The server's WARNING and ERROR lines, counted by message with the numbers blanked out."""
    found = Counter()
    for line in log_path.read_text(errors='replace').splitlines():
        if match := re.search(r' (WARNING|ERROR) (\S+): (.*)', line):
            found[f'{match[1]} {match[2]}: {NUMBER.sub("#", match[3])[:110]}'] += 1
    return found


def verdict(ok: bool) -> str:
    return 'PASS' if ok else 'MISS'


def report(browser: dict, service: dict) -> None:
    medians = {key: statistics.median(timings) for key, timings in browser['loads'].items()}
    counts = {}
    for size in SIZES:
        loads = browser['statements'][size]
        for load in loads:
            if other := [line for line in load if not SQL.match(line)]:
                raise RuntimeError(f'not SQL statements in the query log: {other[:3]}')
        counts[size] = sorted({len(load) for load in loads})

    print(f'\nstatements of one /admin load ({SIZES[-1]:,} users):')
    for number, line in enumerate(browser['statements'][SIZES[-1]][0], 1):
        print(f'  {number}. {line[:150]}{"…" if len(line) > 150 else ""}')

    print(f'\nin-process UserDirectory.page(), median of {SEARCH_RUNS} (the server side of one page or search):')
    for size, ms in service['unsearched'].items():
        print(f'  first page, {size:>7,} users: {ms:6.1f} ms')
    for term, (ms, total) in service['searches'].items():
        print(f'  search {term!r:<15} on {SEARCH_SIZE:,} users: {ms:6.1f} ms ({total:,} matches)')

    print(f'\ntime to visible: {LOADS} loads each, in rotation; server_ms: GET /admin over plain HTTP, median')
    print(f'{"size":<8} {"median_ms":>10} {"min_ms":>8} {"max_ms":>8} {"server_ms":>10}  queries')
    for key in ('static', *SIZES):
        timings = browser['loads'][key]
        render = f'{browser["render"][key]:.0f}' if key in browser['render'] else '-'
        queries = '/'.join(str(count) for count in counts[key]) if key in counts else '-'
        print(f'{key:<8} {medians[key]:>10.0f} {min(timings):>8.0f} {max(timings):>8.0f} {render:>10}  {queries}')

    ratio = medians[SIZES[-1]] / medians[SIZES[0]]
    same = len({tuple(count) for count in counts.values()}) == 1 and all(len(count) == 1 for count in counts.values())
    worst_term, (worst_ms, _) = max(service['searches'].items(), key=lambda item: item[1][0])
    search_ms = statistics.median(ms for ms, _ in service['searches'].values())
    memory = browser['memory']
    per_client = (memory['during'] - memory['before']) / CLIENTS
    print(f'ratio {SIZES[-1]}/{SIZES[0]}: {ratio:.2f} (target <= 1.2)  {verdict(ratio <= 1.2)}')
    print(f'queries the same for every size: {"yes" if same else "no"}  {verdict(same)}')
    print(
        f'search median on {SEARCH_SIZE} users: {search_ms:.1f} ms over {len(SEARCH_TERMS)} terms, worst term '
        f'{worst_term!r} {worst_ms:.1f} ms (target < 150)  {verdict(worst_ms < 150)}'
    )
    print(
        f'memory per client ({CLIENTS} clients, {MEMORY_SIZE} users): {per_client:.0f} KiB (target <= 1024)  '
        f'{verdict(per_client <= 1024)}'
    )
    print(
        f'  server RSS: {memory["before"] / 1024:.1f} MiB with no page open, {memory["during"] / 1024:.1f} MiB with '
        f'{CLIENTS} open ({OPEN_AT_ONCE} opening at a time), {memory["after"] / 1024:.1f} MiB '
        f'{CLIENT_DELETION_S:.1f} s after closing them'
    )
    print(
        f'  server CPU while idle: {memory["idle_cpu"]:.0%} of a core with no page open, '
        f'{memory["busy_cpu"]:.0%} with {CLIENTS} pages open'
    )
    shown, others = browser['burst']
    slowest = f', the slowest after {max(shown):.0f} ms' if shown else ''
    print(f'{CLIENTS} pages opening /admin at the same moment: {len(shown)} showed their users{slowest}')
    for outcome, count in others.most_common():
        print(f'  {count} showed {outcome}')
    print('server log:' if browser['warnings'] else 'server log: no warnings')
    for message, count in browser['warnings'].most_common(6):
        print(f'  {count:>4} x {message}')


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix='portico-users-bench-'))
    env = server_env(work)
    print(f'{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start', flush=True)
    try:
        admins = await asyncio.to_thread(seed, env)
        service = await in_process(env['DATA_DIR'], admins)
        browser = await in_browser(env, work, admins, service['rows'])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(browser, service)
    print(f'load average {os.getloadavg()[0]:.1f} at the end (anything above 0 competes with the benchmark)')


if __name__ == '__main__':
    asyncio.run(main())

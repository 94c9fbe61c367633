"""Do 200 admins of 200 organizations, all connected at once and all clicking, get quick answers from one server?

In a fresh DATA_DIR (SQLite, offline billing), one process seeds `--admins` organizations of USERS users each with
`services.demo.seed_demo`, the function behind `python main.py seed-demo` (one process for all of them: 200
`seed-demo` runs would spend minutes starting Python). The real server (`main.py`) serves them. Each admin is a
simulated browser (benchmarks/nicegui_socket.py: the page's HTML over HTTP, then NiceGUI's socket.io protocol over a
WebSocket, as nicegui.js speaks it): it logs in through /login's form, opens /admin, and then, for `--minutes`, every
ACTION_EVERY_S seconds (jittered) does one of:

- search: types a term into "Search users" (the input's `update:value`, as Quasar sends it after its 300 ms
  debounce, which is not counted) until the server's update replaces the rows (or says no user matches);
- page: clicks "Next page" (or "Previous page" on the last page) until the server's update replaces the rows;
- toggle: flips an enabled user's "Is enabled?" switch off (the row's `toggle` event), and the next time back on,
  until the server answers: a `show_enabled` call of that row, or an update of the row with the new value.

A round trip is from just before the event is sent to the arrival of the message that shows its result. It prints
p50/p95/p99 per action and overall, errors (no answer within ANSWER_TIMEOUT_S, or a refusal), disconnects, the
server's resident memory (VmRSS) before the admins connect, with all connected and at the end, its CPU over the run,
and the memory per admin.

Second phase, `--visits` page visits, VISITS_AT_ONCE at a time: GET /admin, connect, wait until the page is live
(the first rows are there and the socket answers), disconnect. The server's RSS before and after, each measured once
NiceGUI has deleted the disconnected clients (its reconnect_timeout, CLIENT_DELETION_S).

Run: .venv/bin/python benchmarks/many_admins.py            (200 admins, 5 minutes, 2,000 visits: about 10 minutes)
     .venv/bin/python benchmarks/many_admins.py --admins 20 --minutes 0.5 --visits 100      (a quick trial)
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from nicegui_socket import NiceGUIPage, PageError, log_in  # run as a script, beside it
from users_page import CLIENT_DELETION_S, free_port, logged_warnings, rss_kib, server_env, tail, wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
USERS = 30
TRIAL_SEATS = 100  # every seeded user may be enabled, so a switch flipped back on is never refused for seats
ACTION_EVERY_S = 3.0
ANSWER_TIMEOUT_S = 10.0
CONNECT_AT_ONCE = 8
LOGIN_AT_ONCE = 4  # argon2 takes ~100 ms of CPU per login; the server hashes a few at a time anyway
VISITS_AT_ONCE = 4
SEARCH_TERMS = ('ada', 'chen', 'garcia', 'zoe', 'smith', 'maria', 'nguyen', 'lars', '')
TARGET_P95_MS = 100
TARGET_KIB_PER_ADMIN = 1024
TARGET_VISIT_GROWTH_MB = 20

# One process seeds every organization with the function `python main.py seed-demo` runs, and can make one more
# enabled admin with a known password in some of them; it prints the logins as JSON.
SEED = """
import asyncio, json, sys

from db.config import apply_migrations, open_database
from db.models import Role, User
from services.demo import seed_demo
from services.passwords import hash_password
from services.settings import Settings


async def main(spec):
    settings = Settings.from_env().prepare_data_dir()
    await apply_migrations(settings.database_url)
    logins = []
    async with open_database(settings.database_url):
        for name, users, second_admin_password in spec:
            result = await seed_demo(users=users, seat_limit=settings.trial_seats, organization_name=name)
            login = {'organization': name, 'organization_id': result.organization.id, 'email': result.admin_email,
                     'password': result.admin_password}
            if second_admin_password:
                other = await User.filter(organization_id=result.organization.id, role='member').order_by('id').first()
                other.role, other.is_enabled = Role.ADMIN, True
                other.password_hash = await hash_password(second_admin_password)
                await other.save()
                login['second_admin'] = other.email
            logins.append(login)
    print(json.dumps(logins))


asyncio.run(main(json.loads(sys.argv[1])))
"""


def portal_env(work: Path, **extra: str) -> dict[str, str]:
    """The server's environment: a fresh DATA_DIR, loopback, offline billing, no mail."""
    return server_env(work, TRIAL_SEATS=str(TRIAL_SEATS), **extra)


def seed_organizations(env: dict[str, str], spec: list[tuple[str, int, str]]) -> list[dict]:
    """Seed (name, users, second admin's password or '') organizations; returns each one's logins."""
    command = [sys.executable, '-c', SEED, json.dumps(spec)]
    done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@asynccontextmanager
async def portal_server(work: Path, env: dict[str, str]) -> AsyncIterator[tuple[str, subprocess.Popen, Path]]:
    """`main.py` on a free loopback port: (base URL, process, log path); stopped at the end, even on failure."""
    port = free_port()
    base = f'http://127.0.0.1:{port}'
    log_path = work / 'server.log'
    with log_path.open('w') as log_file:
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is timed
            [sys.executable, 'main.py'],
            cwd=ROOT,
            env={**env, 'PORT': str(port), 'BASE_URL': base},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            await wait_until_serving(base, server, log_path)
            yield base, server, log_path
        finally:
            server.terminate()
            with suppress(subprocess.TimeoutExpired):
                server.wait(timeout=15)
            if server.poll() is None:  # it did not stop in 15 s
                server.kill()
                server.wait()


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.95 → p95)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))] if ordered else float('nan')


def scheduled_ns(pid: int) -> tuple[int, int]:
    """The process's main thread (NiceGUI's event loop): ns on a CPU and ns runnable but waiting for one."""
    on_cpu, waiting, _ = Path(f'/proc/{pid}/schedstat').read_text().split()
    return int(on_cpu), int(waiting)


def cpu_seconds(pid: int) -> float:
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')  # utime + stime


async def watch_lag(samples: list[float], every_s: float = 0.05) -> None:
    """This process's own event-loop lag (ms late per sleep): the simulated browsers share one loop, and a late
    loop stamps an answer late."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(every_s)
        samples.append((time.perf_counter() - started - every_s) * 1000)


def user_rows(page: NiceGUIPage) -> list[tuple[str, dict]]:
    return page.find(tag='user_row')


def shown_emails(page: NiceGUIPage) -> list[str]:
    return [element['props'].get('email') for _, element in user_rows(page)]


def rows_replaced(before: list[str]):
    """After a search or a page change: other users in the rows than `before` (the page may redraw its rows or show
    other users in the same ones), a row the server sent again (the same users found again), or the "no users
    match" line."""
    asked_at = time.perf_counter()

    def check(page: NiceGUIPage) -> bool:
        rows = user_rows(page)
        return (shown_emails(page) != before or any(page.updated_at.get(row, 0) >= asked_at for row, _ in rows)
                or page.shows('No users match your search.'))  # fmt: skip

    return check


def shown_enabled(page: NiceGUIPage, email: str) -> bool | None:
    """Whether the page shows `email`'s switch on: the latest of the row's props and the server's show_enabled."""
    for row, element in user_rows(page):
        if element['props'].get('email') == email:
            call = page.last_method_call(row, 'show_enabled')
            if call is not None and call.at >= page.updated_at.get(row, 0):
                return bool(call.args[0])
            return bool(element['props'].get('enabled'))
    return None


@dataclass
class Admin:
    login: dict
    http: httpx.AsyncClient
    page: NiceGUIPage | None = None
    switched_off: str = ''  # the email this admin disabled last, to enable again next
    search: str = ''
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)


async def act(admin: Admin, rng: random.Random) -> None:
    """One action of the admin's page, timed from the event to the update that shows its result."""
    page = admin.page
    kind = rng.choice(('search', 'page', 'toggle'))
    rows = {row: element for row, element in user_rows(page)}
    if kind == 'page':
        next_id, next_button = page.one(tag='q-btn', aria_label='Next page')
        previous_id, previous_button = page.one(tag='q-btn', aria_label='Previous page')
        button = next_id if not next_button['props'].get('disable') else previous_id
        if next_button['props'].get('disable') and previous_button['props'].get('disable'):
            kind = 'search'  # one page of results: nowhere to go
    if kind == 'toggle':
        email, value = admin.switched_off, True
        if email not in {element['props']['email'] for element in rows.values()}:
            candidates = [element['props']['email'] for element in rows.values()
                          if element['props'].get('enabled') and not element['props'].get('own')]  # fmt: skip
            if not candidates:
                kind = 'search'
            else:
                email, value = rng.choice(candidates), False
    if kind == 'search':
        term = rng.choice([term for term in SEARCH_TERMS if term != admin.search])
        element_id, _ = page.one(tag='input', label='Search users')
        answered = page.expect(rows_replaced(shown_emails(page)))
        started = await page.emit(element_id, 'update:value', term)
        admin.search = term
    elif kind == 'page':
        answered = page.expect(rows_replaced(shown_emails(page)))
        started = await page.emit(button, 'click')
    else:
        row = next(row for row, element in rows.items() if element['props']['email'] == email)
        notified = len(page.stats.notifications)
        answered = page.expect(lambda page: shown_enabled(page, email) is value)
        started = await page.emit(row, 'toggle', value)
    try:
        at = await page.wait(answered, within_s=ANSWER_TIMEOUT_S)
    except TimeoutError:
        admin.errors[f'{kind}: no answer within {ANSWER_TIMEOUT_S:.0f} s'] += 1
        return
    except PageError as error:
        admin.errors[f'{kind}: {error}'] += 1
        return
    admin.timings[kind].append((at - started) * 1000)
    if kind == 'toggle':
        admin.switched_off = '' if value else email
        await asyncio.sleep(0.2)  # the notification comes with the answer or right after it
        refused = [note for note in page.stats.notifications[notified:] if note.get('type') == 'negative']
        if refused:
            admin.errors[f'toggle refused: {refused[0].get("message", "")[:80]}'] += 1


async def run_admin(admin: Admin, until: float, seed: int) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, ACTION_EVERY_S))  # spread the first actions
    while time.monotonic() < until and admin.page.connected:
        try:
            await act(admin, rng)
        except PageError as error:
            admin.errors[f'page: {error}'] += 1
        await asyncio.sleep(rng.uniform(0.5, 1.5) * ACTION_EVERY_S)


async def gather_limited(limit: int, coroutines) -> list:
    gate = asyncio.Semaphore(limit)

    async def one(coroutine):
        async with gate:
            return await coroutine

    return await asyncio.gather(*(one(coroutine) for coroutine in coroutines))


async def visit(http: httpx.AsyncClient, base: str) -> float:
    """One page visit: GET /admin, connect, wait until the page answers over its socket, close. Returns ms."""
    started = time.perf_counter()
    page = await NiceGUIPage.open(http, base, '/admin')
    try:
        if not user_rows(page):
            raise PageError('/admin shows no users')
        # Live: the server handles an event of this page and answers (a click on "Next page" replaces the rows).
        button, _ = page.one(tag='q-btn', aria_label='Next page')
        answered = page.expect(rows_replaced(shown_emails(page)))
        await page.emit(button, 'click')
        await page.wait(answered, within_s=ANSWER_TIMEOUT_S)
    finally:
        await page.close()
    return (time.perf_counter() - started) * 1000


async def settled_rss(pid: int) -> int:
    """VmRSS once NiceGUI has deleted the clients of closed pages."""
    await asyncio.sleep(CLIENT_DELETION_S + 1)
    return rss_kib(pid)


def summary_line(label: str, timings: list[float]) -> str:
    if not timings:
        return f'  {label:<8} no answers'
    p50, p95, p99 = (percentile(timings, share) for share in (0.5, 0.95, 0.99))
    return (
        f'  {label:<8} {len(timings):>6} answers   p50 {p50:6.1f}   p95 {p95:6.1f}   p99 {p99:6.1f}   '
        f'max {max(timings):7.1f} ms'
    )


def verdict(ok: bool) -> str:
    return 'PASS' if ok else 'MISS'


async def measure(args: argparse.Namespace, work: Path, env: dict[str, str]) -> None:
    started = time.monotonic()
    spec = [(f'Org {number:03d}', USERS, '') for number in range(args.admins)]
    logins = await asyncio.to_thread(seed_organizations, env, spec)
    print(f'seeded {args.admins} organizations of {USERS} users in {time.monotonic() - started:.0f} s', flush=True)
    async with portal_server(work, env) as (base, server, log_path):
        limits = httpx.Limits(max_connections=4)
        admins = [Admin(login, httpx.AsyncClient(timeout=30, limits=limits)) for login in logins]
        try:
            # A warm-up visit, then the baseline once its client is gone.
            async with httpx.AsyncClient(timeout=30) as warm:
                await log_in(warm, base, logins[0]['email'], logins[0]['password'])
                await visit(warm, base)
            phase = time.monotonic()
            await gather_limited(LOGIN_AT_ONCE, (log_in(admin.http, base, admin.login['email'],
                                                        admin.login['password']) for admin in admins))  # fmt: skip
            print(f'{len(admins)} admins logged in in {time.monotonic() - phase:.0f} s', flush=True)
            rss_before = await settled_rss(server.pid)  # after the login pages' clients are gone
            phase = time.monotonic()

            async def connect(admin: Admin) -> None:
                admin.page = await NiceGUIPage.open(admin.http, base, '/admin')
                if not user_rows(admin.page):
                    raise PageError(f'/admin of {admin.login["organization"]} shows no users')

            await gather_limited(CONNECT_AT_ONCE, (connect(admin) for admin in admins))
            print(f'{len(admins)} pages open in {time.monotonic() - phase:.0f} s', flush=True)
            await asyncio.sleep(3)  # nothing pending
            rss_connected = rss_kib(server.pid)
            cpu_start, wall_start, own_start = cpu_seconds(server.pid), time.monotonic(), time.process_time()
            scheduled_start = scheduled_ns(server.pid)
            lag: list[float] = []
            lag_task = asyncio.create_task(watch_lag(lag))
            until = time.monotonic() + args.minutes * 60
            await asyncio.gather(*(run_admin(admin, until, number) for number, admin in enumerate(admins)))
            lag_task.cancel()
            wall = time.monotonic() - wall_start
            cpu_share = (cpu_seconds(server.pid) - cpu_start) / wall
            own_share = (time.process_time() - own_start) / wall
            on_cpu, waiting = (
                (end - start) / 1e9 / wall for end, start in zip(scheduled_ns(server.pid), scheduled_start, strict=True)
            )
            rss_end = rss_kib(server.pid)
            disconnects = sum(admin.page.stats.disconnects for admin in admins)
            for admin in admins:
                await admin.page.close()
            rss_closed = await settled_rss(server.pid)

            # Phase 2: page visits.
            visitors = admins[: max(1, min(len(admins), VISITS_AT_ONCE * 4))]
            rss_visits_before = rss_closed
            visit_ms: list[float] = []
            visit_errors: Counter = Counter()
            phase = time.monotonic()

            async def one_visit(number: int) -> None:
                try:
                    visit_ms.append(await visit(visitors[number % len(visitors)].http, base))
                except (PageError, TimeoutError, httpx.HTTPError, OSError) as error:
                    visit_errors[f'{type(error).__name__}: {str(error)[:100]}'] += 1

            await gather_limited(VISITS_AT_ONCE, (one_visit(number) for number in range(args.visits)))
            visits_s = time.monotonic() - phase
            rss_visits_after = await settled_rss(server.pid)
        finally:
            for admin in admins:
                if admin.page is not None:
                    await admin.page.close()
                await admin.http.aclose()
        warnings = logged_warnings(log_path)
        server_tail = tail(log_path)

    timings: dict[str, list[float]] = defaultdict(list)
    errors: Counter = Counter()
    for admin in admins:
        for kind, values in admin.timings.items():
            timings[kind].extend(values)
        errors.update(admin.errors)
    everything = [value for values in timings.values() for value in values]
    print(f'\n{len(admins)} admins of {len(admins)} organizations ({USERS} users each), {args.minutes:g} min, '
          f'one action every {ACTION_EVERY_S:g} s (jittered ×0.5–1.5) per admin; round trip in ms:')  # fmt: skip
    for kind in ('search', 'page', 'toggle'):
        print(summary_line(kind, timings[kind]))
    print(summary_line('overall', everything))
    p95 = percentile(everything, 0.95)
    error_count = sum(errors.values())
    per_admin = (rss_connected - rss_before) / len(admins)
    print(f'p95 {p95:.1f} ms (target < {TARGET_P95_MS})  {verdict(p95 < TARGET_P95_MS)}')
    print(f'errors: {error_count} (target 0)  {verdict(error_count == 0)}')
    for message, count in errors.most_common(8):
        print(f'  {count:>5} x {message}')
    print(f'disconnects: {disconnects} (target 0)  {verdict(disconnects == 0)}')
    print(
        f'server RSS: {rss_before / 1024:.1f} MiB before connecting, {rss_connected / 1024:.1f} MiB with all '
        f'{len(admins)} connected, {rss_end / 1024:.1f} MiB at the end of the run, {rss_closed / 1024:.1f} MiB once '
        'their clients were deleted'
    )
    print(
        f'memory per admin: {per_admin:.0f} KiB (target <= {TARGET_KIB_PER_ADMIN})  '
        f'{verdict(per_admin <= TARGET_KIB_PER_ADMIN)}'
    )
    print(
        f'server CPU during the run: {cpu_share:.0%} of one core (all threads); its event loop thread was on a CPU '
        f'{on_cpu:.0%} of the time and runnable but waiting for a CPU {waiting:.0%} of the time'
    )
    print(
        f'the benchmark process (the {len(admins)} simulated browsers): {own_share:.0%} of one core; its event '
        f'loop late by p50 {percentile(lag, 0.5):.1f}, p95 {percentile(lag, 0.95):.1f}, '
        f'max {max(lag, default=0):.0f} ms'
    )
    growth_mb = (rss_visits_after - rss_visits_before) * 1024 / 1e6
    if visit_ms:
        print(
            f'\n{args.visits} page visits ({VISITS_AT_ONCE} at a time) in {visits_s:.0f} s: '
            f'median {statistics.median(visit_ms):.0f} ms, p95 {percentile(visit_ms, 0.95):.0f} ms, '
            f'{sum(visit_errors.values())} failed'
        )
    else:
        print(f'\n{args.visits} page visits: none succeeded')
    for message, count in visit_errors.most_common(5):
        print(f'  {count:>5} x {message}')
    if args.visits:
        print(
            f'server RSS {rss_visits_before / 1024:.1f} MiB before the visits, {rss_visits_after / 1024:.1f} MiB '
            f'after (both {CLIENT_DELETION_S + 1:.1f} s after the last page closed): growth {growth_mb:.1f} MB '
            f'(target < {TARGET_VISIT_GROWTH_MB})  {verdict(growth_mb < TARGET_VISIT_GROWTH_MB)}'
        )
    print('server log:' if warnings else 'server log: no warnings')
    for message, count in warnings.most_common(6):
        print(f'  {count:>4} x {message}')
    if 'Traceback' in server_tail:
        print(f'server log ends with a traceback:\n{server_tail[-1200:]}')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--admins', type=int, default=200, help='admins, each of their own organization')
    parser.add_argument('--minutes', type=float, default=5.0, help='how long they click')
    parser.add_argument('--visits', type=int, default=2000, help='page visits of the second phase')
    return parser.parse_args()


async def in_temporary_dir(measure_in, args: argparse.Namespace, prefix: str) -> None:
    """Run `measure_in(args, work, env)` in a fresh temporary directory, removed at the end even on failure, with
    the load average before and after."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    print(f'{os.cpu_count()} cores, load average {os.getloadavg()} at the start', flush=True)
    started = time.monotonic()
    try:
        await measure_in(args, work, portal_env(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f'load average {os.getloadavg()} at the end; {time.monotonic() - started:.0f} s in all')


if __name__ == '__main__':
    with suppress(KeyboardInterrupt):
        asyncio.run(in_temporary_dir(measure, parse_args(), 'portico-many-admins-'))

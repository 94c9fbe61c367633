"""How long until another admin's change shows on every open /admin page of the organization?

In a fresh DATA_DIR (SQLite, offline billing, TRIAL_SEATS 100), one organization of USERS users
(`services.demo.seed_demo`, what `python main.py seed-demo` runs) gets a second enabled admin, the one who acts. The
real server (`main.py`) serves it. Observers are its first admin's open /admin pages: 30, then 100, as simulated
browsers (benchmarks/nicegui_socket.py: NiceGUI's socket.io protocol as nicegui.js speaks it), plus BROWSER_PAGES
real headless Chromium pages, to check that the socket figures are what a browser shows. The acting admin is a
simulated browser too, and makes each change through the page's UI events, as a click would:

- rename the organization: "Edit organization" → type a new "Organization name" → Save;
- disable a user: the row's "Is enabled?" switch (its `toggle` event with false);
- add a user: "+ Add user" → Name and Email → "Add user" (the new user sorts first, so their row is on page 1).

The clock starts just before the decisive event (Save, the toggle, "Add user") is sent. An observer's time is when
the first message arrives after which its page shows the change, matched on content, not on how the page updates
(any element whose text or props hold the new name; the user's row with its switch off, by props or by the server's
`show_enabled` call; a row with the new email, and the Users section's "N of M seats used" with N one more). In
Chromium, a MutationObserver stamps the moment the DOM first shows it (the text in the page; the row's
role=switch with aria-checked=false; a .cell-email cell with the new email), on the same wall clock. Each change
is made REPEATS times per page count; it prints, per change and page count, the median over repeats of the
fastest, median, p95 and slowest page.

Last, one open page of another organization, after a subscription change made "as if in Stripe's dashboard": the
real `stripe` SDK pointed at the offline emulator (`/emulator/stripe`, the key in DATA_DIR/stripe-emulator-key)
creates a subscription, then changes its quantity REPEATS times; only Stripe's webhook tells Portico. Timed until
the Subscription section shows the new seat count ("N of Q used").

Targets: each of 30 pages within 300 ms, each of 100 pages within 1 s.

Run: .venv/bin/python benchmarks/live_updates.py                        (about 1.5 minutes on two cores)
     .venv/bin/python benchmarks/live_updates.py --pages 10 30 --repeats 2   (a quick trial)
"""

import argparse
import asyncio
import json
import re
import secrets
import statistics
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import stripe
from many_admins import (  # run as a script, beside it
    gather_limited,
    in_temporary_dir,
    percentile,
    portal_server,
    seed_organizations,
    shown_enabled,
    user_rows,
)
from nicegui_socket import NiceGUIPage, PageError, log_in
from playwright.async_api import Page, async_playwright
from users_page import CHROMIUM_ARGS, logged_warnings
from users_page import log_in as browser_log_in

ORGANIZATION = 'Live Org'
STRIPE_ORGANIZATION = 'Stripe Org'
USERS = 60
STRIPE_USERS = 10
PAGE_COUNTS = (30, 100)
REPEATS = 5
BROWSER_PAGES = 2
OPEN_AT_ONCE = 8
SHOW_TIMEOUT_S = 15.0
SETTLE_S = 1.0
TARGETS_MS = {30: 300, 100: 1000}
STRIPE_PLAN = 'portico_professional_monthly'
FIRST_QUANTITY = 20

# Arms a MutationObserver that stamps window[key] (epoch ms, as time.time() * 1000) the first moment `check()` holds.
ARM_WATCH = """
([source, key]) => {
  const check = new Function(source);
  window[key] = null;
  window.__watches ??= {};
  window.__watches[key]?.disconnect();
  const look = () => {
    if (window[key] === null && check()) {
      window[key] = performance.timeOrigin + performance.now();
      window.__watches[key].disconnect();
    }
  };
  window.__watches[key] = new MutationObserver(look);
  window.__watches[key].observe(document.body, { subtree: true, childList: true, characterData: true,
                                                 attributes: true });
  look();
}
"""


def text_shown(text: str) -> str:
    return f'return document.getElementById("app").textContent.includes({json.dumps(text)});'


def switch_off_shown(email: str) -> str:
    return (
        'const cell = [...document.querySelectorAll(".cell-email")]'
        f'.find((c) => c.textContent.trim() === {json.dumps(email)});'
        ' const row = cell && cell.closest("[role=row]");'
        ' const box = row && row.querySelector("[role=switch]");'
        ' return !!box && box.getAttribute("aria-checked") === "false";'
    )


def row_shown(email: str) -> str:
    cells = '[...document.querySelectorAll(".cell-email")]'
    return f'return {cells}.some((c) => c.textContent.trim() === {json.dumps(email)});'


def regex_shown(pattern: str) -> str:
    return f'return new RegExp({json.dumps(pattern)}).test(document.getElementById("app").textContent);'


@dataclass
class Signal:
    """What shows a change: a predicate on a simulated page and the same check as JavaScript for Chromium."""

    name: str
    predicate: Callable[[NiceGUIPage], bool]
    in_dom: str
    looked_for: str = ''


@dataclass
class Outcome:
    socket_ms: list[float | None]
    browser_ms: list[float | None]


def newest(page: NiceGUIPage, **criteria) -> str:
    found = page.find(**criteria)
    if not found:
        raise PageError(f'no element matches {criteria}')
    return max((element_id for element_id, _ in found), key=int)


def any_text(pattern: re.Pattern) -> Callable[[NiceGUIPage], bool]:
    def check(page: NiceGUIPage) -> bool:
        return any(pattern.search(element.get('text') or '') for element in page.elements.values())

    return check


async def open_dialog(actor: NiceGUIPage, button: dict, field: str) -> None:
    """Click a button that opens a dialog, until the dialog's `field` input is there."""
    before = {element_id for element_id, _ in actor.find(tag='input', label=field)}
    button_id = newest(actor, tag='q-btn', **button)
    await actor.emit(button_id, 'click')
    await actor.wait_for(
        lambda page: any(element_id not in before for element_id, _ in page.find(tag='input', label=field)),
        within_s=SHOW_TIMEOUT_S,
    )


async def timed(
    actor_action: Callable[[], Awaitable[tuple[float, float]]],
    signals: list[Signal],
    observers: list[NiceGUIPage],
    browsers: list[Page],
) -> dict[str, Outcome]:
    """Arm every observer for every signal, run the action (it returns the perf_counter and time.time() just before
    its decisive event) and collect the delays in ms (None: not shown within SHOW_TIMEOUT_S)."""
    waits = {signal.name: [page.expect(signal.predicate) for page in observers] for signal in signals}
    keys = {signal.name: f'__shown_{number}' for number, signal in enumerate(signals)}
    outcomes = {}
    try:
        for browser in browsers:
            for signal in signals:
                await browser.evaluate(ARM_WATCH, [signal.in_dom, keys[signal.name]])
        started, started_epoch = await actor_action()
        for signal in signals:
            arrived = await asyncio.gather(
                *(
                    page.wait(wait, within_s=SHOW_TIMEOUT_S)
                    for page, wait in zip(observers, waits[signal.name], strict=True)
                ),
                return_exceptions=True,
            )
            socket_ms = [(at - started) * 1000 if isinstance(at, float) else None for at in arrived]
            browser_ms = []
            for browser in browsers:
                key = keys[signal.name]
                with suppress(Exception):
                    await browser.wait_for_function(f'window.{key} !== null', timeout=SHOW_TIMEOUT_S * 1000)
                shown_at = await browser.evaluate(f'window.{key}')
                browser_ms.append(shown_at - started_epoch * 1000 if shown_at is not None else None)
            outcomes[signal.name] = Outcome(socket_ms, browser_ms)
    finally:
        for signal_waits in waits.values():
            for page, wait in zip(observers, signal_waits, strict=True):
                page.forget(wait)
    return outcomes


def decisive(actor: NiceGUIPage, element_id: str, event: str, *args):
    """The action's last step: its event, timed from just before it is sent."""

    async def send() -> tuple[float, float]:
        started_epoch = time.time()
        return await actor.emit(element_id, event, *args), started_epoch

    return send


async def rename(actor: NiceGUIPage, number: int) -> tuple[Callable, list[Signal]]:
    name = f'Live Org renamed {number} {secrets.token_hex(3)}'
    await open_dialog(actor, {'aria_label': 'Edit organization'}, 'Organization name')
    await actor.emit(newest(actor, tag='input', label='Organization name'), 'update:value', name)
    save = newest(actor, tag='q-btn', label='Save')
    signal = Signal('organization name', lambda page: page.shows(name), text_shown(name))
    return decisive(actor, save, 'click'), [signal]


async def disable(actor: NiceGUIPage, number: int) -> tuple[Callable, list[Signal]]:
    rows = [(row, element) for row, element in user_rows(actor) if element['props'].get('enabled')]
    # A member: disabling an admin could end the observers' own session (they are the organization's first admin).
    rows = [(row, element) for row, element in rows if element['props'].get('role') == 'Member']
    if not rows:
        raise PageError('no enabled user on the first page to disable')
    row, element = rows[number % len(rows)]
    email = element['props']['email']
    signal = Signal('switch off', lambda page: shown_enabled(page, email) is False, switch_off_shown(email))
    return decisive(actor, row, 'toggle', False), [signal]


SEATS_USED = re.compile(r'^([\d,]+) of [\d,]+ seats? used$')


async def add_user(actor: NiceGUIPage, number: int) -> tuple[Callable, list[Signal]]:
    used = next(int(found[1].replace(',', '')) for element in actor.elements.values()
                if (found := SEATS_USED.match(element.get('text') or '')))  # fmt: skip
    token = secrets.token_hex(3)
    name, email = f'Aaron Aardvark {number} {token}', f'aaron.aardvark.{number}.{token}@live-bench.example.com'
    await open_dialog(actor, {'label': '+ Add user'}, 'Name')
    await actor.emit(newest(actor, tag='input', label='Name'), 'update:value', name)
    await actor.emit(newest(actor, tag='input', label='Email'), 'update:value', email)
    add = newest(actor, tag='q-btn', label='Add user')
    seats = rf'(^|\D){used + 1:,} of [\d,]+ seats? used'  # textContent runs the labels together
    signals = [
        Signal('new row', lambda page: any(e['props'].get('email') == email for _, e in user_rows(page)),
               row_shown(email), looked_for=f'{name} ({email})'),
        Signal('seats text', any_text(re.compile(seats)), regex_shown(seats)),
    ]  # fmt: skip
    return decisive(actor, add, 'click'), signals


CHANGES = {'rename organization': rename, 'disable a user': disable, 'add a user': add_user}


async def open_browser_pages(browser, base: str, login: dict, count: int) -> list[Page]:
    pages = []
    for _ in range(count):
        context = await browser_log_in(browser, base, login['email'], login['password'])
        page = context.pages[0]
        await page.get_by_role('switch', name='Is enabled?').first.wait_for(state='visible', timeout=30_000)
        pages.append(page)
    return pages


async def open_observers(http: httpx.AsyncClient, base: str, count: int) -> list[NiceGUIPage]:
    return await gather_limited(OPEN_AT_ONCE, (NiceGUIPage.open(http, base, '/admin') for _ in range(count)))


def say_missed(change: str, signal: Signal, outcome: Outcome, observers: list[NiceGUIPage]) -> None:
    """Pages that never showed a change, and what one of them shows instead."""
    missed = [page for page, value in zip(observers, outcome.socket_ms, strict=True) if value is None]
    if missed:
        rows = [element['props']['name'] for _, element in user_rows(missed[0])]
        print(
            f'  {change}, {signal.name}: {len(missed)} of {len(observers)} pages did not show '
            f'{signal.looked_for or "it"} within {SHOW_TIMEOUT_S:.0f} s; one of them shows {len(rows)} rows: {rows}',
            flush=True,
        )


def spread(values: list[float | None]) -> tuple[float, float, float, float, int]:
    """min, median, p95 and max over the pages, and how many pages did not show it."""
    shown = [value for value in values if value is not None]
    missing = len(values) - len(shown)
    if not shown:
        return float('nan'), float('nan'), float('nan'), float('nan'), missing
    return min(shown), statistics.median(shown), percentile(shown, 0.95), max(shown), missing


async def subscription_phase(base: str, data_dir: Path, login: dict, browser, repeats: int) -> dict:
    """One open page of another organization; its subscription's quantity changed through the emulator's API."""
    http = httpx.AsyncClient(timeout=30)
    await log_in(http, base, login['email'], login['password'])
    page = await NiceGUIPage.open(http, base, '/admin')
    browsers = await open_browser_pages(browser, base, login, 1) if browser else []
    key = (data_dir / 'stripe-emulator-key').read_text().strip()
    client = stripe.StripeClient(key, base_addresses={'api': f'{base}/emulator/stripe'})
    v1 = client.v1
    results: dict = {'socket': [], 'browser': []}
    try:
        for _ in range(100):  # the server syncs its catalog into the emulator at start-up
            prices = await v1.prices.list_async(params={'lookup_keys': [STRIPE_PLAN]})
            if prices.data:
                break
            await asyncio.sleep(0.1)
        customer = await v1.customers.create_async(params={'name': STRIPE_ORGANIZATION})
        card = await v1.payment_methods.create_async(params={'type': 'card', 'card': {'token': 'tok_visa'}})
        await v1.payment_methods.attach_async(card.id, params={'customer': customer.id})

        def seats_signal(quantity: int) -> Signal:
            pattern = rf'\d of {quantity:,} used'
            return Signal('seats', any_text(re.compile(pattern)), regex_shown(pattern))

        async def subscribe() -> tuple[float, float]:
            started, started_epoch = time.perf_counter(), time.time()
            results['subscription'] = await v1.subscriptions.create_async(params={
                'customer': customer.id, 'items': [{'price': prices.data[0].id, 'quantity': FIRST_QUANTITY}],
                'default_payment_method': card.id, 'metadata': {'organization_id': str(login['organization_id'])},
            })  # fmt: skip
            return started, started_epoch

        first = await timed(subscribe, [seats_signal(FIRST_QUANTITY)], [page], browsers)
        results['first'] = first['seats']
        subscription = results['subscription']
        item = subscription['items']['data'][0]['id']
        for number in range(1, repeats + 1):
            quantity = FIRST_QUANTITY + number

            async def change(quantity: int = quantity) -> tuple[float, float]:
                started, started_epoch = time.perf_counter(), time.time()
                await v1.subscriptions.update_async(
                    subscription.id, params={'items': [{'id': item, 'quantity': quantity}]}
                )
                return started, started_epoch

            outcome = (await timed(change, [seats_signal(quantity)], [page], browsers))['seats']
            results['socket'].append(outcome.socket_ms[0])
            results['browser'].extend(outcome.browser_ms)
            await asyncio.sleep(SETTLE_S)
    finally:
        await page.close()
        await http.aclose()
    return results


def ms(value: float | None) -> str:
    return f'{value:7.0f}' if value is not None and value == value else '      -'


def report(results: dict, browser_results: dict, page_counts: list[int], repeats: int) -> None:
    print(f'\ndelay from the acting admin\'s event to each open page showing the change, ms; per repeat the median, '
          f'p95 and max over the pages, then the median of {repeats} repeats')  # fmt: skip
    print(f'{"change":<22} {"shown by":<18} {"pages":>5} {"first":>7} {"median":>7} {"p95":>7} {"max":>7} '
          f'{"worst":>7} {"missed":>6}  {"chromium":>8}  target')  # fmt: skip
    for (change, signal, pages), repeats_seen in results.items():
        spreads = [spread(values) for values in repeats_seen]
        first, median, p95, slowest = (statistics.median(item[column] for item in spreads) for column in range(4))
        worst = max(item[3] for item in spreads)
        missed = sum(item[4] for item in spreads)
        chromium = [value for value in browser_results.get((change, signal, pages), []) if value is not None]
        target = TARGETS_MS.get(pages)
        ok = target is not None and missed == 0 and slowest < target
        verdict = f'{"PASS" if ok else "MISS"} (max < {target})' if target else ''
        print(
            f'{change:<22} {signal:<18} {pages:>5} {ms(first)} {ms(median)} {ms(p95)} {ms(slowest)} {ms(worst)} '
            f'{missed:>6}  {ms(statistics.median(chromium)) if chromium else "      -":>8}  {verdict}'
        )
    print('"first", "median", "p95", "max": the median over repeats of the fastest, median, p95 and slowest page;')
    print(
        f'"worst": the slowest page of any repeat; "missed": pages that did not show it within {SHOW_TIMEOUT_S:.0f} s'
    )
    print('(all repeats); "chromium": median of the real browser pages, which were opened first and so are served')
    print('first: compare them with "first".')


def report_subscription(results: dict) -> None:
    first = results['first']
    print(f'\nsubscription made in the emulator (quantity {FIRST_QUANTITY}), until the page shows it: '
          f'{ms(first.socket_ms[0]).strip()} ms (socket), '
          f'{", ".join(ms(value).strip() for value in first.browser_ms) or "-"} ms (chromium)')  # fmt: skip
    shown = [value for value in results['socket'] if value is not None]
    browser = [value for value in results['browser'] if value is not None]
    print(
        f'quantity changed {len(results["socket"])} times: median {ms(statistics.median(shown)).strip()} ms, max '
        f'{ms(max(shown)).strip()} ms (socket); chromium median '
        f'{ms(statistics.median(browser)).strip() if browser else "-"} ms; '
        f'{len(results["socket"]) - len(shown)} not shown within {SHOW_TIMEOUT_S:.0f} s'
        if shown
        else 'the page never showed a changed quantity'
    )


async def measure(args: argparse.Namespace, work: Path, env: dict[str, str]) -> None:
    password = secrets.token_urlsafe(12)
    spec = [(ORGANIZATION, USERS, password), (STRIPE_ORGANIZATION, STRIPE_USERS, '')]
    live, stripe_login = await asyncio.to_thread(seed_organizations, env, spec)
    async with portal_server(work, env) as (base, server, log_path):
        observer_http, actor_http = httpx.AsyncClient(timeout=30), httpx.AsyncClient(timeout=30)
        observers: list[NiceGUIPage] = []
        actor = None
        results: dict = defaultdict(list)
        browser_results: dict = defaultdict(list)
        try:
            await log_in(observer_http, base, live['email'], live['password'])
            await log_in(actor_http, base, live['second_admin'], password)
            actor = await NiceGUIPage.open(actor_http, base, '/admin')
            async with async_playwright() as playwright:
                browser = None
                if args.browser_pages:
                    browser = await playwright.chromium.launch(executable_path='/usr/bin/chromium',
                                                               args=CHROMIUM_ARGS)  # fmt: skip
                browsers = await open_browser_pages(browser, base, live, args.browser_pages) if browser else []
                number = 0
                for count in args.pages:
                    observers += await open_observers(observer_http, base, count - len(observers))
                    await asyncio.sleep(3)
                    print(f'{len(observers)} simulated pages and {len(browsers)} Chromium pages open', flush=True)
                    for _ in range(args.repeats):
                        for change, prepare in CHANGES.items():
                            number += 1
                            action, signals = await prepare(actor, number)
                            outcomes = await timed(action, signals, observers, browsers)
                            by_name = {signal.name: signal for signal in signals}
                            for signal, outcome in outcomes.items():
                                results[change, signal, count].append(outcome.socket_ms)
                                browser_results[change, signal, count].extend(outcome.browser_ms)
                                say_missed(change, by_name[signal], outcome, observers)
                            refused = [note['message'] for note in actor.stats.notifications
                                       if note.get('type') in ('negative', 'warning')]  # fmt: skip
                            if refused:
                                raise PageError(f'the acting admin was refused: {refused[-1]}')
                            await asyncio.sleep(SETTLE_S)
                    lost = sum(page.stats.disconnects for page in observers)
                    print(f'  done with {count} pages ({lost} disconnects so far)', flush=True)
                for page in observers:
                    await page.close()
                observers = []
                subscription = await subscription_phase(base, work / 'data', stripe_login, browser, args.repeats)
                if browser:
                    await browser.close()
        finally:
            for page in [*observers, *([actor] if actor else [])]:
                await page.close()
            await observer_http.aclose()
            await actor_http.aclose()
        warnings = logged_warnings(log_path)
    report(results, browser_results, args.pages, args.repeats)
    report_subscription(subscription)
    print('server log:' if warnings else 'server log: no warnings')
    for message, count in warnings.most_common(6):
        print(f'  {count:>4} x {message}')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--pages', type=int, nargs='+', default=list(PAGE_COUNTS), help='open pages, ascending')
    parser.add_argument('--repeats', type=int, default=REPEATS, help='times each change is made per page count')
    parser.add_argument('--browser-pages', type=int, default=BROWSER_PAGES, help='real Chromium pages besides')
    return parser.parse_args()


if __name__ == '__main__':
    asyncio.run(in_temporary_dir(measure, parse_args(), 'portico-live-updates-'))

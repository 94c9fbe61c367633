"""Where does /admin's time go in the browser? A Chromium performance trace of /admin against a bare NiceGUI page.

Issue 15, first step: measure before changing anything. In a fresh DATA_DIR (SQLite, offline billing),
`python main.py seed-demo --users 10000` fills one organization; the real server (`main.py`) serves it. A tiny
NiceGUI app started by this script serves the comparison: one page with 25 rows of `ui.switch`. Headless Debian
Chromium logs in, loads each page once to warm the cache, then, in rotation:
- LOADS untraced loads per page: time until the 10th "Is enabled?" switch is visible, and DOMContentLoaded;
- LOADS traced loads per page (DevTools protocol `Tracing.start`, categories in CATEGORIES): from the trace, the
  renderer main thread's time per event (script compile and evaluate, style recalculation, layout, paint, HTML
  parse), the span from the first script to the 10th switch, and the top scripts by evaluate time; from the page,
  after the switches show, DOM nodes, Vue component instances (walked from the root vnode), the JS heap
  (`Performance.getMetrics`) and the fonts `document.fonts` loaded.
It prints the medians side by side, with their ratio, and the load average before and after.

Run: .venv/bin/python benchmarks/admin_trace.py        (about a minute on two cores)
"""

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from playwright.async_api import CDPSession, Page, async_playwright
from users_page import CHROMIUM_ARGS, free_port, log_in, server_env, stop_server, wait_until_serving  # beside it

ROOT = Path(__file__).resolve().parent.parent
USERS = 10_000
LOADS = 5
NTH_SWITCH = 10
BARE_ROWS = 25
SETTLE_S = 1.0
CATEGORIES = 'devtools.timeline,v8.execute,v8,blink.user_timing,loading,toplevel'
SWITCH = '[role="switch"][aria-label="Is enabled?"]'
MARK = 'nth-switch-visible'
EVALUATE = {'EvaluateScript', 'v8.evaluateModule'}
COMPILE = {'v8.compile', 'v8.compileModule', 'v8.produceCache', 'v8.produceModuleCache', 'v8.deserializeCache'}
STYLE_LAYOUT = {'UpdateLayoutTree', 'Layout'}

BARE_APP = f"""
import os
from nicegui import ui

@ui.page('/')
def index():
    for number in range({BARE_ROWS}):
        with ui.row():
            ui.label(f'User {{number}}')
            ui.label(f'user{{number}}@example.com')
            ui.switch(value=number % 2 == 0).props('aria-label="Is enabled?"')

ui.run(host='127.0.0.1', port=int(os.environ['PORT']), reload=False, show=False, storage_secret='bench')
"""

# Marks (blink.user_timing, so it lands in the trace) the first animation frame in which the NTH_SWITCH-th
# "Is enabled?" switch has a box on screen, and remembers its performance.now().
WATCH_SWITCHES = f"""
(() => {{
  const look = () => {{
    const found = document.querySelectorAll('{SWITCH}');
    const nth = found[{NTH_SWITCH - 1}];
    if (nth && nth.getClientRects().length && nth.getBoundingClientRect().height > 0) {{
      window.__nthSwitchAt = performance.now();
      performance.mark('{MARK}');
    }} else requestAnimationFrame(look);
  }};
  requestAnimationFrame(look);
}})();
"""

# After the switches show: what the page built.
PAGE_FACTS = """
() => {
  const all = [...document.querySelectorAll('*')];
  const root = all.find((element) => element._vnode);
  const types = {};
  let instances = 0;
  const seen = new Set();
  const walk = (vnode) => {
    if (!vnode || typeof vnode !== 'object' || seen.has(vnode)) return;
    seen.add(vnode);
    if (vnode.component) {
      instances += 1;
      const type = vnode.component.type || {};
      const name = type.name || type.__name || '(anonymous)';
      types[name] = (types[name] || 0) + 1;
      walk(vnode.component.subTree);
    }
    if (vnode.suspense) walk(vnode.suspense.activeBranch);
    if (Array.isArray(vnode.children)) vnode.children.forEach(walk);
  };
  walk(root && root._vnode);
  const fonts = [...document.fonts].filter((font) => font.status === 'loaded')
    .map((font) => `${font.family} ${font.weight} ${font.style}`);
  const navigation = performance.getEntriesByType('navigation')[0];
  return {
    nodes: all.length,
    unrendered: all.filter((element) => !element.getClientRects().length).length,
    instances,
    types,
    fonts,
    dcl: navigation.domContentLoadedEventEnd,
    resources: performance.getEntriesByType('resource').length,
    resource_names: performance.getEntriesByType('resource').map((entry) => new URL(entry.name).pathname),
    // Where the DOM elements are: per labelled section (a card), the rest of the page under '(frame)'.
    sections: Object.fromEntries(['Organization', 'Subscription', 'Users'].map((name) => {
      const section = document.querySelector(`[aria-label="${name}"]`);
      return [name, section ? section.querySelectorAll('*').length : 0];
    })),
  };
}
"""


def load_average() -> str:
    return Path('/proc/loadavg').read_text().strip()


def seed(env: dict[str, str]) -> tuple[str, str]:
    command = [sys.executable, 'main.py', 'seed-demo', '--users', str(USERS), '--organization', 'Trace']
    done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    last = done.stdout.strip().splitlines()[-1]
    found = re.search(r' as (\S+) with password (\S+)$', last)
    if not found:
        raise RuntimeError(f'seed-demo did not print the admin login: {last!r}')
    return found[1], found[2]


async def load(page: Page, url: str) -> float:
    """ms from navigation start until the NTH_SWITCH-th switch is visible (Playwright's view)."""
    started = time.perf_counter()
    await page.goto(url, wait_until='commit')
    await page.locator(SWITCH).nth(NTH_SWITCH - 1).wait_for(state='visible', timeout=60_000)
    return (time.perf_counter() - started) * 1000


async def traced_load(page: Page, cdp: CDPSession, url: str) -> dict:
    events: list[dict] = []
    complete = asyncio.Event()

    def collect(params: dict) -> None:
        events.extend(params['value'])

    def done(params: dict) -> None:
        complete.set()

    cdp.on('Tracing.dataCollected', collect)
    cdp.on('Tracing.tracingComplete', done)
    await cdp.send('Tracing.start', {'traceConfig': {'includedCategories': CATEGORIES.split(',')}})
    try:
        wall_ms = await load(page, url)
        await page.wait_for_function('window.__nthSwitchAt !== undefined', timeout=30_000)
    finally:
        await cdp.send('Tracing.end')
        await asyncio.wait_for(complete.wait(), 30)
        cdp.remove_listener('Tracing.dataCollected', collect)
        cdp.remove_listener('Tracing.tracingComplete', done)
    facts = await page.evaluate(PAGE_FACTS)
    facts['in_page_ms'] = await page.evaluate('window.__nthSwitchAt')
    metrics = {item['name']: item['value'] for item in (await cdp.send('Performance.getMetrics'))['metrics']}
    facts['heap_mib'] = metrics['JSHeapUsedSize'] / 2**20
    facts['wall_ms'] = wall_ms
    facts.update(analyse(events, facts['in_page_ms']))
    return facts


def analyse(events: list[dict], in_page_ms: float) -> dict:
    """Main-thread time per event name, from navigation start up to the NTH_SWITCH-th switch."""
    marks = [event for event in events if event.get('name') == MARK]
    if not marks:
        raise RuntimeError('the trace holds no mark for the switches')
    end = marks[-1]['ts']
    start = end - in_page_ms * 1000
    main_threads = {
        (event['pid'], event['tid'])
        for event in events
        if event.get('ph') == 'M' and event.get('name') == 'thread_name'
        and event['args'].get('name') == 'CrRendererMain'
    }  # fmt: skip
    per_name: Counter = Counter()
    evaluate_by_url: Counter = Counter()
    compile_by_url: Counter = Counter()
    first_script = None
    for event in events:
        if (event.get('pid'), event.get('tid')) not in main_threads or event.get('ph') != 'X':
            continue
        ts, dur = event['ts'], event.get('dur', 0)
        if ts < start or ts > end:
            continue
        name = event['name']
        per_name[name] += dur / 1000
        args = event.get('args', {})
        url = (args.get('data') or {}).get('url') or args.get('fileName') or (args.get('data') or {}).get('fileName')
        url = url or '(no url)'
        if name in EVALUATE:
            evaluate_by_url[url] += dur / 1000
        if name in COMPILE:
            compile_by_url[url] += dur / 1000
        if name in EVALUATE | COMPILE and (first_script is None or ts < first_script):
            first_script = ts
    return {
        'per_name': per_name,
        'evaluate_ms': sum(per_name[name] for name in EVALUATE),
        'compile_ms': sum(per_name[name] for name in COMPILE),
        'style_layout_ms': sum(per_name[name] for name in STYLE_LAYOUT),
        'recalc_style_ms': per_name['UpdateLayoutTree'],
        'layout_ms': per_name['Layout'],
        'parse_html_ms': per_name['ParseHTML'],
        'paint_ms': per_name['Paint'] + per_name['PrePaint'] + per_name['Layerize'],
        'function_call_ms': per_name['FunctionCall'],
        'first_script_ms': (first_script - start) / 1000 if first_script else float('nan'),
        'script_to_switch_ms': (end - first_script) / 1000 if first_script else float('nan'),
        'task_ms': per_name['ThreadControllerImpl::RunTask'] or per_name['RunTask'],
        'evaluate_by_url': evaluate_by_url,
        'compile_by_url': compile_by_url,
    }


def short(url: str) -> str:
    return re.sub(r'^https?://127\.0\.0\.1:\d+', '', url)[-70:]


def median(values) -> float:
    return statistics.median(values)


ROWS = (
    ('untraced: 10th switch visible (ms)', 'untraced_ms'),
    ('untraced: DOMContentLoaded (ms)', 'untraced_dcl'),
    ('traced: 10th switch visible, Playwright (ms)', 'wall_ms'),
    ('traced: 10th switch visible, in page (ms)', 'in_page_ms'),
    ('traced: DOMContentLoaded (ms)', 'dcl'),
    ('main thread busy (RunTask) until switch (ms)', 'task_ms'),
    ('script evaluate (ms)', 'evaluate_ms'),
    ('script compile/cache (ms)', 'compile_ms'),
    ('FunctionCall (callbacks, ms)', 'function_call_ms'),
    ('first script starts at (ms)', 'first_script_ms'),
    ('first script -> 10th switch (ms)', 'script_to_switch_ms'),
    ('recalc style (ms)', 'recalc_style_ms'),
    ('layout (ms)', 'layout_ms'),
    ('paint+prepaint+layerize (ms)', 'paint_ms'),
    ('parse HTML (ms)', 'parse_html_ms'),
    ('DOM elements', 'nodes'),
    ('elements without a box', 'unrendered'),
    ('Vue component instances', 'instances'),
    ('JS heap used (MiB)', 'heap_mib'),
    ('fonts loaded', 'font_count'),
    ('resources fetched', 'resources'),
)


def report(results: dict[str, list[dict]], untraced: dict[str, list[tuple[float, float]]]) -> None:
    for key, runs in results.items():
        for run in runs:
            run['font_count'] = len(run['fonts'])
        for run, (ms, dcl) in zip(runs, untraced[key], strict=True):
            run['untraced_ms'], run['untraced_dcl'] = ms, dcl
    print(f'\nmedians of {LOADS} loads each (events on the renderer main thread, navigation start to 10th switch)')
    print(f'{"":<46} {"/admin":>9} {"bare":>9} {"ratio":>6}')
    for label, key in ROWS:
        admin, bare = (median(run[key] for run in results[page]) for page in ('admin', 'bare'))
        ratio = f'{admin / bare:6.2f}' if bare else '     -'
        print(f'{label:<46} {admin:>9.1f} {bare:>9.1f} {ratio}')
    for page, runs in results.items():
        print(f'\n{page}: top main-thread events by total time (median ms)')
        names = Counter()
        for run in runs:
            names.update(run['per_name'])
        for name, _ in names.most_common(14):
            print(f'  {median(run["per_name"][name] for run in runs):7.1f}  {name}')
        print(
            f'{page}: top 10 scripts by evaluate time (median ms; compile/cache ms; "(no url)": ES module evaluation)'
        )
        urls = Counter()
        for run in runs:
            urls.update(run['evaluate_by_url'])
        for url, _ in urls.most_common(10):
            evaluate = median(run['evaluate_by_url'][url] for run in runs)
            compiled = median(run['compile_by_url'][url] for run in runs)
            print(f'  {evaluate:7.1f}  {compiled:6.1f}  {short(url)}')
        print(f'{page}: Vue component instances by type (last load)')
        types = Counter(runs[-1]['types'])
        print('  ' + ', '.join(f'{name} {count}' for name, count in types.most_common(40)))
        print(f'{page}: fonts loaded: {sorted(set(runs[-1]["fonts"]))}')
        print(f'{page}: DOM elements by section: {runs[-1]["sections"]}')
        print(f'{page}: resources: {", ".join(runs[-1]["resource_names"])}')


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix='portico-trace-bench-'))
    env = server_env(work)
    print(f'{os.cpu_count()} cores, /proc/loadavg at the start: {load_average()}', flush=True)
    servers: list[tuple[subprocess.Popen, object]] = []
    try:
        email, password = await asyncio.to_thread(seed, env)
        print(f'seeded {USERS:,} users', flush=True)
        (work / 'bare.py').write_text(BARE_APP, encoding='utf-8')
        urls = {}
        for key, command, path in (
            ('admin', [sys.executable, 'main.py'], '/login'),
            ('bare', [sys.executable, str(work / 'bare.py')], '/'),
        ):
            port = free_port()
            log_path = work / f'{key}.log'
            log_file = log_path.open('w')
            server = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is timed
                command, cwd=ROOT, env={**env, 'PORT': str(port)}, stdout=log_file, stderr=subprocess.STDOUT
            )
            servers.append((server, log_file))
            await wait_until_serving(f'http://127.0.0.1:{port}', server, log_path, path=path)
            urls[key] = f'http://127.0.0.1:{port}' + ('/admin' if key == 'admin' else '/')
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path='/usr/bin/chromium', args=CHROMIUM_ARGS)
            try:
                admin_context = await log_in(browser, urls['admin'].rsplit('/', 1)[0], email, password)
                pages = {'admin': admin_context.pages[0], 'bare': await (await browser.new_context()).new_page()}
                cdps = {}
                for key, page in pages.items():
                    await page.add_init_script(WATCH_SWITCHES)
                    cdps[key] = await page.context.new_cdp_session(page)
                    await cdps[key].send('Performance.enable')
                    await load(page, urls[key])  # warm the cache
                await asyncio.sleep(SETTLE_S)
                results: dict = defaultdict(list)
                untraced: dict = defaultdict(list)
                for _ in range(LOADS):
                    for key, page in pages.items():
                        ms = await load(page, urls[key])
                        dcl = await page.evaluate(
                            "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
                        )
                        untraced[key].append((ms, dcl))
                        await asyncio.sleep(SETTLE_S)
                        results[key].append(await traced_load(page, cdps[key], urls[key]))
                        await asyncio.sleep(SETTLE_S)
            finally:
                await browser.close()
    finally:
        for server, log_file in servers:
            stop_server(server)
            log_file.close()
        shutil.rmtree(work, ignore_errors=True)
    report(results, untraced)
    print(f'\n/proc/loadavg at the end: {load_average()} (anything above 0 competes with the benchmark)')


if __name__ == '__main__':
    asyncio.run(main())

"""How quickly does Portico's /admin show its users, next to Django's admin, a bare NiceGUI page and static HTML?

In a fresh DATA_DIR (SQLite, offline billing), `python main.py seed-demo --users 10000` fills one organization.
Four servers on free loopback ports then show the same first 25 users (sorted by name, then id):
- Portico: the real server (`main.py`), /admin, logged in as the organization's admin; 25 users to a page;
- Django: a throwaway Django project that this script writes into the temporary directory. Its admin lists an
  unmanaged model whose `db_table` is Portico's own `users` table, read from the seeded SQLite file (opened with
  `PRAGMA query_only`) and filtered to the organization, so it is literally the same users. Django's own tables
  (auth, sessions, admin log) live in a second SQLite file, kept apart by a database router. `list_per_page = 100`,
  DEBUG off, `manage.py runserver --noreload`; the admin's static files are served with NiceGUI's Cache-Control
  (a year, immutable), as a production static server would, so a warm load fetches them from the cache;
- bare NiceGUI: admin_trace.py's tiny app, 25 rows of two labels and a `ui.switch` labelled "Is enabled?";
- the floor: a static HTML table of the 25 rows (users_page.py's `static_page`), served over loopback HTTP.
Headless Debian Chromium logs in to Portico and to Django once each (a browser context per page), loads every page
once to warm the cache, then makes LOADS timed loads of each, the pages taking turns so that the machine's noise hits
them alike. A load is timed from `page.goto(url, wait_until='commit')` until the 25th "Is enabled?" switch is
visible (for Django: the 25th row of `#result_list`). It prints the median, min and max of each page, the median
DOMContentLoaded, the ratios Portico/Django and Portico/bare NiceGUI, and the load average before and after.

Run: .venv/bin/python benchmarks/admin_vs_django.py        (about a minute on two cores)
"""

import asyncio
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import django
from admin_trace import BARE_APP, seed  # run as a script, beside them
from playwright.async_api import Page, async_playwright
from users_page import (
    CHROMIUM_ARGS,
    PAGE_ROWS,
    free_port,
    log_in,
    serve_static,
    server_env,
    static_page,
    stop_server,
    time_to_visible,
    time_until,
    wait_until_serving,
)

ROOT = Path(__file__).resolve().parent.parent
LOADS = 7
SETTLE_S = 1.0
DJANGO_PER_PAGE = 100
DJANGO_USERNAME = 'bench'
DJANGO_PASSWORD = 'bench-only-password'
DJANGO_CHANGELIST = '/admin/portico_users/porticouser/'
DJANGO_ROWS = '#result_list tbody tr'
DCL_DONE = "performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd > 0"
# DOMContentLoaded, and how many of the resources fetched so far came over the network or from the cache.
LOAD_FACTS = """
() => {
  const resources = performance.getEntriesByType('resource');
  return {
    dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    network: resources.filter((entry) => entry.transferSize > 0).length,
    cached: resources.filter((entry) => entry.transferSize === 0).length,
  };
}
"""
PAGES = {
    'portico': 'Portico /admin',
    'django': 'Django admin',
    'bare': 'bare NiceGUI',
    'static': 'static HTML',
}

# The Django project, file by file. The settings read Portico's database file and organization from the environment.
DJANGO_PROJECT = {
    'manage.py': """
import os
import sys

from django.core.management import execute_from_command_line

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_settings')
execute_from_command_line(sys.argv)
""",
    'site_settings.py': """
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECRET_KEY = 'benchmark-only-not-a-secret'
DEBUG = False
ALLOWED_HOSTS = ['127.0.0.1']
INSTALLED_APPS = [
    'django.contrib.admin',
    'django.contrib.auth',
    'django.contrib.contenttypes',
    'django.contrib.sessions',
    'django.contrib.messages',
    'django.contrib.staticfiles',
    'portico_users',
]
MIDDLEWARE = [
    'django.middleware.security.SecurityMiddleware',
    'django.contrib.sessions.middleware.SessionMiddleware',
    'django.middleware.common.CommonMiddleware',
    'django.middleware.csrf.CsrfViewMiddleware',
    'django.contrib.auth.middleware.AuthenticationMiddleware',
    'django.contrib.messages.middleware.MessageMiddleware',
    'django.middleware.clickjacking.XFrameOptionsMiddleware',
]
ROOT_URLCONF = 'site_urls'
TEMPLATES = [{
    'BACKEND': 'django.template.backends.django.DjangoTemplates',
    'APP_DIRS': True,
    'OPTIONS': {'context_processors': [
        'django.template.context_processors.request',
        'django.contrib.auth.context_processors.auth',
        'django.contrib.messages.context_processors.messages',
    ]},
}]
DATABASES = {
    'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': HERE / 'django.sqlite3'},
    # Portico's seeded file: read, never written.
    'portico': {
        'ENGINE': 'django.db.backends.sqlite3',
        'NAME': os.environ['PORTICO_DATABASE'],
        'OPTIONS': {'init_command': 'PRAGMA query_only = 1'},
    },
}
DATABASE_ROUTERS = ['portico_users.routers.PorticoRouter']
PORTICO_ORGANIZATION_ID = int(os.environ['PORTICO_ORGANIZATION_ID'])
USE_TZ = True
TIME_ZONE = 'UTC'
STATIC_URL = 'static/'
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'
""",
    'site_urls.py': """
from django.contrib import admin
from django.contrib.staticfiles.views import serve
from django.urls import path, re_path
from django.views.decorators.cache import cache_control

# The admin's CSS and JS, cached as NiceGUI caches its own files (and as a production static server would), so that
# a warm load of either page fetches none of them again.
cached_static = cache_control(public=True, max_age=31536000, immutable=True)(serve)

urlpatterns = [
    path('admin/', admin.site.urls),
    re_path(r'^static/(?P<path>.*)$', cached_static, {'insecure': True}),
]
""",
    'portico_users/__init__.py': '',
    'portico_users/models.py': """
from django.db import models


class PorticoUser(models.Model):
    \"\"\"Portico's own `users` table (db/models/people.py), the columns the list shows.\"\"\"

    organization_id = models.IntegerField()
    name = models.CharField(max_length=200)
    email = models.CharField(max_length=254, unique=True)
    role = models.CharField(max_length=10, choices=[('admin', 'Admin'), ('member', 'Member')])
    is_enabled = models.BooleanField(default=True)
    last_login_at = models.DateTimeField(null=True, verbose_name='last login')

    class Meta:
        managed = False
        db_table = 'users'
        verbose_name = 'user'
""",
    'portico_users/routers.py': """
class PorticoRouter:
    \"\"\"Portico's users come from its database; Django's own tables stay in the default one.\"\"\"

    def db_for_read(self, model, **hints):
        return 'portico' if model._meta.app_label == 'portico_users' else None

    db_for_write = db_for_read

    def allow_migrate(self, db, app_label, **hints):
        return db == 'default'
""",
    'portico_users/admin.py': f"""
from django.conf import settings
from django.contrib import admin

from .models import PorticoUser


@admin.register(PorticoUser)
class PorticoUserAdmin(admin.ModelAdmin):
    list_display = ('name', 'email', 'role', 'is_enabled', 'last_login_at')
    list_per_page = {DJANGO_PER_PAGE}
    ordering = ('name', 'id')

    def get_queryset(self, request):
        return super().get_queryset(request).filter(organization_id=settings.PORTICO_ORGANIZATION_ID)
""",
}


def organization_of(database: Path, admin_email: str) -> tuple[int, int]:
    """The admin's organization id and its number of users."""
    with sqlite3.connect(database) as connection:
        (organization_id,) = connection.execute(
            'SELECT organization_id FROM users WHERE email = ?', (admin_email,)
        ).fetchone()
        (count,) = connection.execute(
            'SELECT COUNT(*) FROM users WHERE organization_id = ?', (organization_id,)
        ).fetchone()
    return organization_id, count


def first_page(database: Path, organization_id: int) -> list[SimpleNamespace]:
    """The organization's first PAGE_ROWS users in Portico's default order (name, then id), for `static_page`."""
    sys.path.insert(0, str(ROOT))
    from db.models import Role

    with sqlite3.connect(database) as connection:
        found = connection.execute(
            'SELECT name, email, role, is_enabled, last_login_at FROM users WHERE organization_id = ? '
            'ORDER BY name, id LIMIT ?',
            (organization_id, PAGE_ROWS),
        ).fetchall()
    return [
        SimpleNamespace(
            name=name,
            email=email,
            role=Role(role),
            is_enabled=bool(is_enabled),
            last_login_at=datetime.fromisoformat(last_login) if last_login else None,
        )
        for name, email, role, is_enabled, last_login in found
    ]


def write_django_project(directory: Path) -> None:
    for name, text in DJANGO_PROJECT.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip(), encoding='utf-8')


def set_up_django(directory: Path, env: dict[str, str]) -> None:
    """Django's tables in its own file, and a superuser."""
    for command in (
        ['migrate', '--noinput'],
        ['createsuperuser', '--noinput', '--username', DJANGO_USERNAME, '--email', 'bench@example.com'],
    ):
        done = subprocess.run(
            [sys.executable, 'manage.py', *command], cwd=directory, env=env, capture_output=True, text=True
        )
        if done.returncode:
            raise RuntimeError(f'manage.py {command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}')


async def time_to_rows(page: Page, url: str) -> float:
    """ms from navigation start until the PAGE_ROWS-th row of Django's result table is visible."""
    return await time_until(page, url, page.locator(DJANGO_ROWS), DJANGO_PER_PAGE)


async def check_django_lists(page: Page, users: int, rows: list[SimpleNamespace]) -> None:
    """Django shows the organization's users, in the order Portico shows them."""
    if f'{users} users' not in await page.locator('#changelist .paginator').inner_text():
        raise RuntimeError(f"Django does not list the organization's {users} users")
    names = await page.locator(f'{DJANGO_ROWS} th.field-name').all_inner_texts()
    if names[:PAGE_ROWS] != [row.name for row in rows]:
        raise RuntimeError(f'Django lists {names[:3]}…, Portico {[row.name for row in rows[:3]]}…')


async def measure(pages: dict[str, tuple[Page, str]]) -> dict[str, list[dict]]:
    """LOADS loads per page, in rotation, after one untimed load each: ms until visible, and LOAD_FACTS."""
    timers = {key: time_to_rows if key == 'django' else time_to_visible for key in pages}
    for key, (page, url) in pages.items():
        await timers[key](page, url)
    await asyncio.sleep(SETTLE_S)
    results: dict[str, list[dict]] = {key: [] for key in pages}
    for _ in range(LOADS):
        for key, (page, url) in pages.items():
            ms = await timers[key](page, url)
            await page.wait_for_function(DCL_DONE, timeout=30_000)
            results[key].append({'ms': ms, **await page.evaluate(LOAD_FACTS)})
            await asyncio.sleep(SETTLE_S)
    return results


def start_server(command: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open('w') as log_file:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT)


def load_average() -> str:
    return ', '.join(f'{value:.2f}' for value in os.getloadavg())


def report(results: dict[str, list[dict]]) -> None:
    def median(key: str, field: str) -> float:
        return statistics.median(load[field] for load in results[key])

    print(f'\ntime until {PAGE_ROWS} users are visible: median, min and max of {LOADS} loads each, in rotation')
    print('dcl_ms: median DOMContentLoaded; network, cached: median resources fetched by then from each')
    print(f'{"page":<16} {"median_ms":>10} {"min_ms":>8} {"max_ms":>8} {"dcl_ms":>8} {"network":>8} {"cached":>7}')
    for key, loads in results.items():
        timings = [load['ms'] for load in loads]
        print(
            f'{PAGES[key]:<16} {median(key, "ms"):>10.0f} {min(timings):>8.0f} {max(timings):>8.0f} '
            f'{median(key, "dcl"):>8.0f} {median(key, "network"):>8.0f} {median(key, "cached"):>7.0f}'
        )
    for other in ('django', 'bare', 'static'):
        print(f'Portico / {PAGES[other] + ":":<14} {median("portico", "ms") / median(other, "ms"):.2f}')


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix='portico-django-bench-'))
    env = server_env(work)
    database = work / 'data' / 'portico.sqlite3'
    print(f'{os.cpu_count()} cores, load average at the start: {load_average()}, Django {django.get_version()}')
    servers: list[subprocess.Popen] = []
    static_server = None
    try:
        email, password = await asyncio.to_thread(seed, env)
        organization_id, users = organization_of(database, email)
        rows = first_page(database, organization_id)
        print(f'seeded {users:,} users', flush=True)
        (work / 'static').mkdir()
        (work / 'static' / 'users.html').write_text(static_page(rows), encoding='utf-8')
        static_server, static_base = serve_static(str(work / 'static'))
        (work / 'bare.py').write_text(BARE_APP, encoding='utf-8')
        django_dir = work / 'django_site'
        write_django_project(django_dir)
        django_env = {**env, 'PORTICO_DATABASE': str(database), 'PORTICO_ORGANIZATION_ID': str(organization_id)}
        django_env['DJANGO_SUPERUSER_PASSWORD'] = DJANGO_PASSWORD
        await asyncio.to_thread(set_up_django, django_dir, django_env)
        ports = {key: free_port() for key in ('portico', 'django', 'bare')}
        bases = {key: f'http://127.0.0.1:{port}' for key, port in ports.items()}
        runserver = ['runserver', '--noreload', f'127.0.0.1:{ports["django"]}']
        for key, command, cwd, environment, path in (
            ('portico', [sys.executable, 'main.py'], ROOT, env, '/login'),
            ('django', [sys.executable, 'manage.py', *runserver], django_dir, django_env, '/admin/login/'),
            ('bare', [sys.executable, str(work / 'bare.py')], ROOT, env, '/'),
        ):
            log_path = work / f'{key}.log'
            servers.append(start_server(command, cwd, {**environment, 'PORT': str(ports[key])}, log_path))
            await wait_until_serving(bases[key], servers[-1], log_path, path=path)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path='/usr/bin/chromium', args=CHROMIUM_ARGS)
            print(f'Chromium {browser.version}', flush=True)
            try:
                portico = await log_in(browser, bases['portico'], email, password)
                django_admin = await log_in(browser, bases['django'], DJANGO_USERNAME, DJANGO_PASSWORD,
                                            form=f'/admin/login/?next={DJANGO_CHANGELIST}', user_field='Username',
                                            lands=f'**{DJANGO_CHANGELIST}')  # fmt: skip
                await check_django_lists(django_admin.pages[0], users, rows)
                pages = {
                    'portico': (portico.pages[0], f'{bases["portico"]}/admin'),
                    'django': (django_admin.pages[0], f'{bases["django"]}{DJANGO_CHANGELIST}'),
                    'bare': (await browser.new_page(), f'{bases["bare"]}/'),
                    'static': (await browser.new_page(), f'{static_base}/users.html'),
                }
                results = await measure(pages)
            finally:
                await browser.close()
    finally:
        for server in servers:
            stop_server(server)
        if static_server is not None:
            static_server.shutdown()
            static_server.server_close()
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    print(f'load average at the end: {load_average()} (anything above 0 competes with the benchmark)')


if __name__ == '__main__':
    asyncio.run(main())

"""Shared fixtures: a fresh real database per test (SQLite file, or PostgreSQL when DATABASE_URL points to one),
a real SMTP server, and the running portal for browser tests."""

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiosqlite.core
import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from nicegui import app
from starlette.routing import Mount

from db.config import apply_migrations, open_database
from services.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / 'tests' / 'artifacts'
POSTGRES_URL = os.environ.get('DATABASE_URL', '') if os.environ.get('DATABASE_URL', '').startswith('postgres') else ''
_ORIGINAL_LIFESPAN = app.router.lifespan_context


# What the PostgreSQL pass of CI leaves to the SQLite pass, to keep both under 20 minutes. The emulator keeps its
# state in its own SQLite file whatever DATABASE_URL says, so its tests would only run twice; and the Chromium tests of
# the portal drive the same service code that the fast tests run on PostgreSQL. The security tests in Chromium
# (test_browser_sessions.py) run on both.
ONCE_ON_SQLITE = (
    'emulator/',
    'conformance/',
    'test_browser_users.py',
    'test_browser_subscription.py',
    'test_browser_billing.py',
    'test_browser_usage.py',
    'test_browser_sign_in.py',
    'test_browser_recovery.py',
    'test_browser_lifecycle.py',
    'test_browser_foundation.py',
    'test_browser_auto_top_up.py',
    'test_browser_accessibility.py',
    'test_browser_activity.py',
)  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not POSTGRES_URL:
        return
    once = pytest.mark.skip(reason='run once per CI run, on the SQLite pass (see ONCE_ON_SQLITE in conftest.py)')
    for item in items:
        path = item.path.as_posix()
        if any(f'/tests/{name}' in path for name in ONCE_ON_SQLITE):
            item.add_marker(once)


class _DaemonThread(threading.Thread):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.daemon = True


# A connection that a test leaves open (a page's background refresh still running when its app shuts down) must
# not keep pytest alive after the summary: aiosqlite's worker threads are made daemons in the tests.
aiosqlite.core.Thread = _DaemonThread


class Databases:
    """Hands out empty, migrated databases, copied from one template migrated once per test session."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.created: list[str] = []
        self.template = ''

    def prepare(self) -> None:
        if POSTGRES_URL:
            self.template = f'portico_tpl_{uuid.uuid4().hex[:8]}'
            asyncio.run(self._admin(f'CREATE DATABASE {self.template}'))
            self.created.append(self.template)
            asyncio.run(apply_migrations(_with_database(POSTGRES_URL, self.template)))
        else:
            self.template = str(self.workdir / 'template.sqlite3')
            asyncio.run(apply_migrations(f'sqlite://{self.template}'))

    async def new(self, directory: Path) -> str:
        if not POSTGRES_URL:
            target = directory / 'portico.sqlite3'
            shutil.copyfile(self.template, target)
            return f'sqlite://{target}'
        name = f'portico_t_{uuid.uuid4().hex[:10]}'
        await self._admin(f'CREATE DATABASE {name} TEMPLATE {self.template}')
        self.created.append(name)
        return _with_database(POSTGRES_URL, name)

    def drop_all(self) -> None:
        async def drop() -> None:
            for name in reversed(self.created):
                await self._admin(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')

        if POSTGRES_URL:
            asyncio.run(drop())

    @staticmethod
    async def _admin(statement: str) -> None:
        connection = await asyncpg.connect(_with_database(POSTGRES_URL, 'postgres'))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f'/{name}', parts.query, ''))


@pytest.fixture(scope='session')
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    factory = Databases(tmp_path_factory.mktemp('databases'))
    factory.prepare()
    yield factory
    factory.drop_all()


@pytest.fixture(autouse=True)
async def portico_env(databases: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Settings]:
    """Every test runs against its own empty database and DATA_DIR; main.py reads them from the environment."""
    for name in list(os.environ):
        if (
            name.startswith(('SMTP_', 'STRIPE_'))
            or name in {'BASE_URL', 'HOST', 'PORT', 'TRIAL_SEATS', 'TRIAL_DAYS', 'FORWARDED_ALLOW_IPS'}
            or name.startswith('SESSION_')
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv('DATA_DIR', str(tmp_path / 'data'))
    monkeypatch.setenv('DATABASE_URL', await databases.new(tmp_path))
    monkeypatch.setenv('STORAGE_SECRET', 'test-storage-secret')
    yield Settings.from_env()
    app.router.lifespan_context = _ORIGINAL_LIFESPAN
    # NiceGUI's reset between tests removes routes but not mounted sub-applications such as the Stripe emulator.
    app.router.routes[:] = [route for route in app.router.routes if not isinstance(route, Mount)
                            or route.path != '/emulator/stripe']  # fmt: skip


@pytest.fixture
def stripe_key_env(portico_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Configure real Stripe (request it before `user`); tests never reach the network with it."""
    monkeypatch.setenv('STRIPE_SECRET_KEY', 'sk_test_not_a_real_key')
    monkeypatch.setenv('STRIPE_WEBHOOK_SECRET', 'whsec_not_a_real_secret')


@pytest.fixture
async def db(portico_env: Settings) -> AsyncIterator[Settings]:
    """Open the test database for service tests that do not start the NiceGUI app."""
    async with open_database(portico_env.database_url):
        yield portico_env


@pytest.fixture
def emulator_app(portico_env: Settings):
    """The Stripe emulator as the portal builds it offline (not mounted: the gateway calls it in-process)."""
    from stripe_emulator import EmulatorConfig, create_app

    emulator_app = create_app(EmulatorConfig(data_dir=portico_env.data_dir, base_url=portico_env.base_url))
    yield emulator_app
    emulator_app.state.emulator.close()


@pytest.fixture
async def services(db: Settings, emulator_app):
    """The service graph for tests without pages, billing through the Stripe emulator in-process."""
    from services.container import Services

    built = Services.build(db, emulator_app=emulator_app)
    await built.billing.prices.sync()
    return built


@dataclass
class Inbox:
    host: str
    port: int
    messages: list

    def links(self, recipient: str) -> list[str]:
        import re

        found = []
        for message in self.messages:
            if message['To'] == recipient:
                body = message.get_body(preferencelist=('plain',)).get_content()
                found += re.findall(r'https?://\S+/set-password/\S+', body)
        return found

    async def wait_for(self, count: int, seconds: float = 5.0) -> None:
        deadline = time.monotonic() + seconds
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f'expected {count} mails, got {len(self.messages)}')
            await asyncio.sleep(0.02)


class _Capture:
    def __init__(self, messages: list) -> None:
        self.messages = messages

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return '250 OK'


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on a free local port; SMTP_HOST/PORT point Portico at it."""
    messages: list = []
    port = free_port()
    controller = Controller(_Capture(messages), hostname='127.0.0.1', port=port)
    controller.start()
    monkeypatch.setenv('SMTP_HOST', '127.0.0.1')
    monkeypatch.setenv('SMTP_PORT', str(port))
    monkeypatch.setenv('SMTP_FROM', 'Portico <portico@example.test>')
    yield Inbox('127.0.0.1', port, messages)
    controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    process: subprocess.Popen

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, 'main.py', *args], cwd=ROOT, env=self.env, input=stdin, capture_output=True, text=True
        )


@pytest.fixture
def live_server(portico_env: Settings, tmp_path: Path) -> Iterator[LiveServer]:
    """The real portal, started with `python main.py` on a free port, as a user runs it."""
    port = free_port()
    env = {**os.environ, 'PORT': str(port), 'HOST': '127.0.0.1'}
    env.pop('NICEGUI_USER_SIMULATION', None)
    env.pop('PYTEST_CURRENT_TEST', None)
    log = (tmp_path / 'server.log').open('w')
    process = subprocess.Popen([sys.executable, 'main.py'], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f'{url}/login', timeout=1).status_code < 500:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f'server did not start: {(tmp_path / "server.log").read_text()}')
        time.sleep(0.1)
    yield LiveServer(url=url, env=env, process=process)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    finally:
        log.close()


@contextmanager
def example_product(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """examples/product/app.py on env['PORT'], started as a developer starts it; yields its URL."""
    url = f'http://127.0.0.1:{env["PORT"]}'
    with log_path.open('w') as log:
        process = subprocess.Popen([sys.executable, 'examples/product/app.py'], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        for _ in range(100):
            try:
                httpx.get(f'{url}/events', timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        try:
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
async def browser():
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    from playwright.async_api import async_playwright

    if not os.path.exists('/usr/bin/chromium'):  # noqa: ASYNC240 - once per test, before any I/O matters
        pytest.fail('Debian chromium is missing: apt-get install chromium (.ci/run does this)')
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path='/usr/bin/chromium',
            args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
        )
        yield chromium
        await chromium.close()

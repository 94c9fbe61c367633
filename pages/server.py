"""The web portal: NiceGUI's app with the pages, the emulator (offline billing), the database's lifetime, the
start-up catch-up with Stripe and the housekeeping; `run` serves it."""

import asyncio
import gc
import logging
from contextlib import asynccontextmanager

import httpx
from nicegui import app, background_tasks, ui
from nicegui.storage import Storage

import api
import oidc
import pages
from db.config import open_database
from pages.http_security import SecurityHeaders
from services.auth import prune_throttles
from services.container import Services
from services.organizations import organization_exists
from services.settings import EMULATOR_PATH, Settings
from stripe_emulator import EmulatorConfig, create_app

log = logging.getLogger('portico')
HOUSEKEEPING_SECONDS = 600


def build(settings: Settings) -> Services:
    """Wire the whole portal into NiceGUI's app; returns the services for anyone who needs them."""
    emulator_app = mount_stripe_emulator(settings) if settings.offline_billing else None
    emulator = emulator_app.state.emulator if emulator_app else None
    services = Services.build(settings, emulator_app=emulator_app)
    app.state.services = services  # for operators' scripts and the tests, which inspect the running graph
    app.add_middleware(SecurityHeaders, https=settings.is_https)
    nicegui_lifespan = app.router.lifespan_context

    entered = []  # the lifespans running now

    @asynccontextmanager
    async def lifespan(application):
        if entered:  # entered again while running (NiceGUI's test fixture `create_user` does): NiceGUI's part only,
            async with nicegui_lifespan(application):  # or a second Tortoise set-up would close the connections
                yield  # that the first one's tasks are using
            return
        entered.append(application)
        # Tortoise 1.x keeps its context per task; opening it in the lifespan (not on_startup) makes it ready
        # before the first request and visible to every handler.
        async with open_database(settings.database_url), nicegui_lifespan(application):
            if emulator:
                await emulator.start()
            running = [
                background_tasks.create(catch_up_with_stripe(services), name='catch up with Stripe'),
                background_tasks.create(keep_house(services), name='housekeeping'),
                background_tasks.create(services.product.run(), name='product webhooks'),
            ]
            # The one line to look for after `make run`: where to go, and what to do there.
            ready = 'log in' if await organization_exists() else 'create your organization'
            print(f'Portico is running at {settings.base_url} — open it to {ready}.', flush=True)
            try:
                yield
            finally:
                for task in running:
                    task.cancel()  # before the database closes under them, and they are waited for: a task still
                await asyncio.wait(running, timeout=5)  # in a query when the connection closes would break the next
                if emulator:
                    await emulator.stop()
                    emulator.close()
                entered.clear()

    app.router.lifespan_context = lifespan
    pages.register(services)
    api.register(services)
    oidc.register(services)
    return services


def mount_stripe_emulator(settings: Settings):
    """Offline billing: Stripe's API, served by the built-in emulator in this same process.

    Its webhooks reach /stripe/webhook in-process too, so they arrive even when BASE_URL is a public address
    that the server cannot call itself (behind a reverse proxy).
    """
    config = EmulatorConfig(
        data_dir=settings.data_dir,
        base_url=settings.base_url,
        mount_path=EMULATOR_PATH,
        webhook_url=f'{settings.base_url}/stripe/webhook',
        webhook_transport=httpx.ASGITransport(app=app),
        past_due_policy=settings.past_due_policy,
    )
    emulator_app = create_app(config)
    app.mount(EMULATOR_PATH, emulator_app)
    return emulator_app


async def catch_up_with_stripe(services: Services) -> None:
    """At start-up: offline, put the plan catalog into the emulator; always, resync the mirror in the background."""
    try:
        if services.settings.offline_billing:
            await services.billing.prices.sync()
        await services.billing.resync.resync_all()
    except Exception:
        log.exception('catching up with Stripe at start-up failed; "Resync with Stripe" retries it')


async def keep_house(services: Services) -> None:
    """Every few minutes: drop the counts of failed logins and reset requests whose window is over, and the
    idempotency keys older than a day; tell the product of the trials that ended."""
    while True:
        try:
            await prune_throttles()
            await services.usage.forget_old_keys()
            await services.entitlements.sweep_trials()
            await services.billing.pausing.resume_due()  # pauses for N billing periods that are over
        except Exception:
            log.exception('housekeeping failed; it runs again in %s s', HOUSEKEEPING_SECONDS)
        await asyncio.sleep(HOUSEKEEPING_SECONDS)


def run(settings: Settings) -> None:
    if settings.offline_billing and settings.is_public:
        log.warning(
            'Billing is offline (no STRIPE_SECRET_KEY) but Portico listens on %s for %s: anyone who reaches it can '
            '"buy" plans and tokens with test cards, and no money moves. Offline billing is for trials and demos.',
            settings.host, settings.base_url,
        )  # fmt: skip
    Storage.path = settings.data_dir / 'nicegui'  # NiceGUI's own files, with the rest of the private state
    # Python's default thresholds (700, 10, 10) ran a full collection every second or two with 200 admins' pages
    # open, each pausing every page for 0.5-0.7 s (benchmarks/many_admins.py: round trips at p95 550-780 ms). Young
    # collections of up to 5,000 objects make full ones 7 times rarer. (A last threshold of 100 held back so much
    # garbage that the server grew by 220 MB over 2,000 page visits.)
    gc.set_threshold(5000, 10, 10)
    build(settings)
    ui.run(
        host=settings.host,
        port=settings.port,
        title='Portico',
        language='en-US',  # <html lang="en-US">, which screen readers need to pick their voice
        storage_secret=settings.storage_secret,
        # The browser's cookie holds the session: Secure behind https, and never older than a session may get.
        session_middleware_kwargs={
            'https_only': settings.is_https,
            'max_age': int(settings.session_max_age.total_seconds()),
            'same_site': 'lax',
        },
        forwarded_allow_ips=settings.forwarded_allow_ips,
        reload=False,
        show=False,
        favicon='🏛',
        show_welcome_message=False,
        # Tailwind compiles its classes in the browser on every load: the few Portico uses are plain CSS instead
        # (components/frame.py UTILITIES_CSS).
        tailwind=False,
        # Per-connection compression state costs ~300 KB per open page; an admin portal's updates are small.
        ws_per_message_deflate=False,
        # SIGTERM must end the process promptly even if a page or a webhook is mid-request.
        timeout_graceful_shutdown=5,
    )

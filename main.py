"""Portico's composition root and command line: settings → database → services → pages → ui.run."""

import argparse
import asyncio
import logging
import os
import sys
from contextlib import asynccontextmanager

from db.config import apply_migrations, open_database
from services.container import PLANS_FILE, Services
from services.plans import PlanCatalogError, load_catalog
from services.settings import Settings, SettingsError

log = logging.getLogger('portico')
EMULATOR_PATH = '/emulator/stripe'
DATABASE_TIMEOUT_SECONDS = 60
HOUSEKEEPING_SECONDS = 600


def build(settings: Settings) -> Services:
    """Wire the whole portal into NiceGUI's app; returns the services for anyone who needs them."""
    # NiceGUI is imported here, not at the top: the command line's other commands start a second faster without it.
    from nicegui import app, background_tasks

    import pages
    from pages.http_security import SecurityHeaders

    emulator_app = mount_stripe_emulator(settings) if settings.offline_billing else None
    emulator = emulator_app.state.emulator if emulator_app else None
    services = Services.build(settings, emulator_app=emulator_app)
    app.state.services = services  # for operators' scripts and the tests, which inspect the running graph
    app.add_middleware(SecurityHeaders, https=settings.is_https)
    nicegui_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application):
        # Tortoise 1.x keeps its context per task; opening it in the lifespan (not on_startup) makes it ready
        # before the first request and visible to every handler.
        async with open_database(settings.database_url), nicegui_lifespan(application):
            if emulator:
                await emulator.start()
            catching_up = background_tasks.create(catch_up_with_stripe(services), name='catch up with Stripe')
            housekeeping = background_tasks.create(keep_house(), name='housekeeping')
            try:
                yield
            finally:
                catching_up.cancel()  # before the database closes under it
                housekeeping.cancel()
                if emulator:
                    await emulator.stop()
                    emulator.close()

    app.router.lifespan_context = lifespan
    pages.register(services)
    return services


def mount_stripe_emulator(settings: Settings):
    """Offline billing: Stripe's API, served by the built-in emulator in this same process.

    Its webhooks reach /stripe/webhook in-process too, so they arrive even when BASE_URL is a public address
    that the server cannot call itself (behind a reverse proxy).
    """
    import httpx
    from nicegui import app

    from stripe_emulator import EmulatorConfig, create_app

    config = EmulatorConfig(
        data_dir=settings.data_dir,
        base_url=settings.base_url,
        mount_path=EMULATOR_PATH,
        webhook_url=f'{settings.base_url}/stripe/webhook',
        webhook_transport=httpx.ASGITransport(app=app),
    )
    emulator_app = create_app(config)
    app.mount(EMULATOR_PATH, emulator_app)
    return emulator_app


async def catch_up_with_stripe(services: Services) -> None:
    """At start-up: offline, put the plan catalog into the emulator; always, resync the mirror in the background."""
    try:
        if services.settings.offline_billing:
            await services.billing.sync_catalog()
        await services.billing.resync_all()
    except Exception:
        log.exception('catching up with Stripe at start-up failed; "Resync with Stripe" retries it')


async def keep_house() -> None:
    """Every few minutes: drop the counts of failed logins and reset requests whose window is over."""
    from services.auth import prune_throttles

    while True:
        try:
            await prune_throttles()
        except Exception:
            log.exception('housekeeping failed; it runs again in %s s', HOUSEKEEPING_SECONDS)
        await asyncio.sleep(HOUSEKEEPING_SECONDS)


def serve(settings: Settings) -> None:
    from nicegui import ui
    from nicegui.storage import Storage

    if settings.offline_billing and settings.is_public:
        log.warning(
            'Billing is offline (no STRIPE_SECRET_KEY) but Portico listens on %s for %s: anyone who reaches it can '
            '"buy" plans and tokens with test cards, and no money moves. Offline billing is for trials and demos.',
            settings.host, settings.base_url,
        )  # fmt: skip
    Storage.path = settings.data_dir / 'nicegui'  # NiceGUI's own files, with the rest of the private state
    build(settings)
    ui.run(
        host=settings.host,
        port=settings.port,
        title='Portico',
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
        # Per-connection compression state costs ~300 KB per open page; an admin portal's updates are small.
        ws_per_message_deflate=False,
        # SIGTERM must end the process promptly even if a page or a webhook is mid-request.
        timeout_graceful_shutdown=5,
    )


async def create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from services.errors import ValidationFailed
    from services.organizations import NewAdmin, create_organization_with_admin

    read_stdin = args.password == '-'  # noqa: S105 - the contract's marker for 'read it from stdin'
    password = sys.stdin.readline().rstrip('\n') if read_stdin else args.password
    new = NewAdmin(organization_name=args.organization, name=args.name, email=args.email, password=password)
    async with open_database(settings.database_url):
        try:
            admin, created = await create_organization_with_admin(new)
        except ValidationFailed as failure:
            print(f'create-admin: {failure}', file=sys.stderr)
            return 2
    outcome = 'Created' if created else 'Already exists:'
    print(f'{outcome} admin {admin.email} (organization id {admin.organization_id})')
    if not read_stdin:  # after the one-line answer, so that a refusal stays one line
        print(
            'create-admin: warning: a password given on the command line is visible to other users in the process '
            'list and stays in your shell history. Next time use --password - and type it, or pipe it in.',
            file=sys.stderr,
        )
    return 0


async def seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from db.models import Organization
    from services.billing import seat_limit
    from services.demo import RealUsersPresent, seed_demo

    async with open_database(settings.database_url):
        organization = await Organization.filter(name=args.organization).first()
        seats = await seat_limit(organization.id, trial_seats=settings.trial_seats) if organization else None
        try:
            result = await seed_demo(
                users=args.users, seat_limit=seats or settings.trial_seats, organization_name=args.organization,
                force=args.force,
            )  # fmt: skip
        except RealUsersPresent as refusal:
            print(f'seed-demo: {refusal}', file=sys.stderr)
            return 2
    print(f'Added {result.created:,} users to {result.organization.name}.')
    password = result.admin_password or '(unchanged: the password it already had)'
    print(f'Log in at {settings.base_url}/login as {result.admin_email} with password {password}')
    return 0


async def password_link(settings: Settings, args: argparse.Namespace) -> int:
    """A fresh set-password link for an operator without SMTP; the user's older links stop working."""
    from services.auth import operator_link
    from services.errors import ServiceError

    async with open_database(settings.database_url):
        try:
            link = await operator_link(email=args.email, base_url=settings.base_url)
        except ServiceError as refusal:
            print(f'password-link: {refusal}', file=sys.stderr)
            return 2
    print(link)
    print('It works once. Hand it to the user yourself; it is not stored anywhere.', file=sys.stderr)
    return 0


async def stripe_sync(settings: Settings) -> int:
    """Create or update the catalog's Products and Prices in Stripe (or, offline, in the emulator)."""
    emulator_app = None
    if settings.offline_billing:
        from stripe_emulator import EmulatorConfig, create_app

        emulator_app = create_app(EmulatorConfig(data_dir=settings.data_dir, base_url=settings.base_url,
                                                 mount_path=EMULATOR_PATH))  # fmt: skip
    services = Services.build(settings, emulator_app=emulator_app)
    try:
        changes = await services.billing.sync_catalog()
    finally:
        if emulator_app:
            emulator_app.state.emulator.close()
    where = 'the offline emulator' if settings.offline_billing else 'Stripe'
    print('\n'.join(changes) if changes else f'The plan catalog in {where} is up to date.')
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python main.py', description='Portico administration portal')
    commands = parser.add_subparsers(dest='command')
    commands.add_parser('migrate', help='apply pending migrations and exit')
    admin = commands.add_parser('create-admin', help='create an organization with its first admin')
    admin.add_argument('--organization', required=True)
    admin.add_argument('--name', required=True)
    admin.add_argument('--email', required=True)
    admin.add_argument('--password', required=True, help='the password, or - to read it from stdin')
    commands.add_parser('stripe-sync', help='create or update the plan catalog in Stripe, found by lookup_key')
    demo = commands.add_parser('seed-demo', help='fill an organization with realistic users')
    demo.add_argument('--users', type=int, required=True)
    demo.add_argument('--organization', default='Demo Company')
    demo.add_argument('--force', action='store_true', help='also fill an organization that has real users')
    link = commands.add_parser('password-link', help='print a fresh set-password link for a user (without SMTP)')
    link.add_argument('email')
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    os.umask(0o077)  # whatever Portico writes (the database, secrets, the emulator's state) is for its user alone
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    for chatty in ('tortoise', 'httpx', 'stripe'):  # a line per SQL statement or Stripe request is for debugging
        logging.getLogger(chatty).setLevel(logging.WARNING)
    args = parse_args(argv)
    try:
        settings = Settings.from_env().prepare_data_dir()
        load_catalog(PLANS_FILE)
    except (SettingsError, PlanCatalogError) as error:
        print(f'portico: {error}', file=sys.stderr)
        return 2
    try:
        asyncio.run(asyncio.wait_for(apply_migrations(settings.database_url), DATABASE_TIMEOUT_SECONDS))
    except TimeoutError:
        print(f'portico: the database did not answer within {DATABASE_TIMEOUT_SECONDS} s', file=sys.stderr)
        return 2
    except Exception as error:  # any driver's refusal (bad password, no such database, …): one line, no traceback
        print(f'portico: cannot open the database: {error or type(error).__name__}', file=sys.stderr)
        return 2
    if args.command == 'migrate':
        print('Migrations are up to date.')
        return 0
    if args.command == 'create-admin':
        return asyncio.run(create_admin(settings, args))
    if args.command == 'stripe-sync':
        return asyncio.run(stripe_sync(settings))
    if args.command == 'seed-demo':
        return asyncio.run(seed_demo(settings, args))
    if args.command == 'password-link':
        return asyncio.run(password_link(settings, args))
    serve(settings)
    return 0


if __name__ in {'__main__', '__mp_main__'}:
    if os.environ.get('NICEGUI_USER_SIMULATION'):
        # NiceGUI's test `user` fixture runs this file; the database is prepared by the tests.
        os.umask(0o077)
        serve(Settings.from_env().prepare_data_dir())
    else:
        sys.exit(main(sys.argv[1:]))

"""Portico's map: settings → database → services → pages → ui.run.

`python main.py` applies pending migrations and serves the portal (pages/server.py); `python main.py COMMAND`
runs a command of the command line (cli.py) instead.
"""

import asyncio
import logging
import os
import sys

import cli
from db.config import apply_migrations
from services.container import PLANS_FILE
from services.plans import PlanCatalogError, load_catalog
from services.settings import Settings, SettingsError

DATABASE_TIMEOUT_SECONDS = 60


def main(argv: list[str]) -> int:
    os.umask(0o077)  # whatever Portico writes (the database, secrets, the emulator's state) is for its user alone
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    for chatty in ('tortoise', 'httpx', 'stripe'):  # a line per SQL statement or Stripe request is for debugging
        logging.getLogger(chatty).setLevel(logging.WARNING)
    args = cli.parse_args(argv)
    try:
        settings = Settings.from_env().prepare_data_dir()
        load_catalog(PLANS_FILE)
    except (SettingsError, PlanCatalogError) as error:
        print(f'portico: {error}', file=sys.stderr)
        return 2
    applied, refusal = migrate(settings)
    if refusal is not None:
        print(f'portico: {refusal}', file=sys.stderr)
        return 2
    if args.command == 'migrate':
        print(migrated(settings, applied))
        return 0
    if args.command:
        return cli.run(settings, args)
    serve(settings)
    return 0


def migrate(settings: Settings) -> tuple[list[str], str | None]:
    """Apply pending migrations: those applied now, or the reason in one line when the database refuses or does not
    answer."""
    try:
        return asyncio.run(asyncio.wait_for(apply_migrations(settings.database_url), DATABASE_TIMEOUT_SECONDS)), None
    except TimeoutError:
        return [], f'the database did not answer within {DATABASE_TIMEOUT_SECONDS} s'
    except Exception as error:  # any driver's refusal (bad password, no such database, …): one line, no traceback
        return [], f'cannot open the database: {error or type(error).__name__}'


def migrated(settings: Settings, applied: list[str]) -> str:
    """What `migrate` did, in a sentence: a database just created, migrations applied, or nothing to do."""
    if not applied:
        return 'Migrations are up to date.'
    where = settings.sqlite_path or settings.database_url.split('@')[-1]  # never a password
    if applied[0].startswith('0001'):
        return f'Created the database at {where} ({len(applied)} migrations).'
    return f'Applied {len(applied)} migration{"s" if len(applied) != 1 else ""} to {where}: {", ".join(applied)}.'


def serve(settings: Settings) -> None:
    from pages import server  # NiceGUI is imported only to serve: the other commands start a second faster

    server.run(settings)


if __name__ in {'__main__', '__mp_main__'}:
    if os.environ.get('NICEGUI_USER_SIMULATION'):
        # NiceGUI's test `user` fixture runs this file; the database is prepared by the tests.
        os.umask(0o077)
        serve(Settings.from_env().prepare_data_dir())
    else:
        sys.exit(main(sys.argv[1:]))

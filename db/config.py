"""Tortoise configuration and migrations, shared by the server, the command line and the tests."""

from contextlib import asynccontextmanager

from tortoise import Tortoise
from tortoise.contrib.fastapi import RegisterTortoise
from tortoise.migrations.api.migrate import migrate

MODELS_APP = 'models'


def tortoise_config(database_url: str) -> dict:
    return {
        'connections': {'default': database_url},
        'apps': {
            MODELS_APP: {
                'models': ['db.models'],
                'migrations': 'db.migrations',
                'default_connection': 'default',
            }
        },
        'use_tz': True,
        'timezone': 'UTC',
    }


async def apply_migrations(database_url: str) -> list[str]:
    """Apply pending migrations (a no-op when the schema is current); returns the names of those applied now."""
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == 'apply_done':
            applied.append(name)

    try:
        await migrate(config=tortoise_config(database_url), progress=progress)
    finally:
        await Tortoise.close_connections()
    return applied


@asynccontextmanager
async def open_database(database_url: str):
    """Open the connections for the lifetime of the block, reachable from every task (NiceGUI handlers included)."""
    async with RegisterTortoise(config=tortoise_config(database_url), _enable_global_fallback=True):
        yield


# For Tortoise's own command line (`tortoise -c db.config.TORTOISE_ORM makemigrations`), which needs a module-level
# configuration; makemigrations compares models with migration files, so an in-memory database is enough.
TORTOISE_ORM = tortoise_config('sqlite://:memory:')

"""Settings validation, the generated storage secret, the migrations check, and the command line of the contract."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from db.config import tortoise_config
from services.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ('env', 'message'),
    [
        ({'DATABASE_URL': 'mysql://root@localhost/x'}, 'DATABASE_URL must start with sqlite:// or postgres://'),
        ({'DATABASE_URL': 'postgres://localhost'}, 'DATABASE_URL must name a host and a database'),
        ({'DATABASE_URL': 'postgres://u@host:port/db'}, 'DATABASE_URL has an invalid port'),
        ({'PORT': 'eighty'}, 'PORT must be a number from 1 to 65535'),
        ({'PORT': '70000'}, 'PORT must be a number from 1 to 65535'),
        ({'BASE_URL': 'portico.example.com'}, 'BASE_URL must be an http:// or https:// address'),
        ({'SMTP_TLS': 'ssl'}, 'SMTP_TLS must be none, starttls or tls'),
        ({'STRIPE_SECRET_KEY': 'pk_test_123'}, 'STRIPE_SECRET_KEY must be a Stripe secret key'),
        ({'GRACE_DAYS': 'a week'}, 'GRACE_DAYS must be a whole number of 0 or more'),
        ({'PAST_DUE_POLICY': 'keep'}, 'PAST_DUE_POLICY must be cancel or unpaid'),
    ],
)
def test_bad_settings_are_refused_with_one_line(env: dict, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert message in str(error.value) and '\n' not in str(error.value)


def test_defaults_follow_the_contract(tmp_path: Path) -> None:
    settings = Settings.from_env({'DATA_DIR': str(tmp_path)})
    assert (settings.host, settings.port, settings.base_url) == ('127.0.0.1', 8080, 'http://127.0.0.1:8080')
    assert settings.database_url == f'sqlite://{tmp_path / "portico.sqlite3"}'
    assert settings.offline_billing and settings.trial_seats == 3 and settings.trial_days == 14
    assert (settings.grace_days, settings.past_due_policy) == (7, 'cancel')
    custom = Settings.from_env({'DATA_DIR': str(tmp_path), 'GRACE_DAYS': '0', 'PAST_DUE_POLICY': 'Unpaid'})
    assert (custom.grace_days, custom.past_due_policy) == (0, 'unpaid')
    assert Settings.from_env({'DATABASE_URL': 'postgresql://u:p@db:5432/portico'}).database_url.startswith('postgres:')


def test_storage_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    first = Settings.from_env({'DATA_DIR': str(tmp_path)}).prepare_data_dir()
    second = Settings.from_env({'DATA_DIR': str(tmp_path)}).prepare_data_dir()
    assert first.storage_secret and first.storage_secret == second.storage_secret
    assert stat.S_IMODE((tmp_path / 'storage-secret').stat().st_mode) == 0o600
    given = Settings.from_env({'DATA_DIR': str(tmp_path), 'STORAGE_SECRET': 'from-env'}).prepare_data_dir()
    assert given.storage_secret == 'from-env'
    (tmp_path / 'storage-secret').chmod(0o644)  # widened by a careless copy: narrowed again
    Settings.from_env({'DATA_DIR': str(tmp_path)}).prepare_data_dir()
    assert stat.S_IMODE((tmp_path / 'storage-secret').stat().st_mode) == 0o600
    (tmp_path / 'storage-secret').write_text('\n')
    with pytest.raises(SettingsError, match='storage-secret is empty'):
        Settings.from_env({'DATA_DIR': str(tmp_path)}).prepare_data_dir()


async def test_models_and_committed_migrations_agree() -> None:
    config = tortoise_config('sqlite://:memory:')
    await Tortoise.init(config=config)
    try:
        changes = await MigrationAutodetector(Tortoise.apps, config['apps']).changes()
    finally:
        await Tortoise.close_connections()
    assert changes == [], 'models changed without a migration: run `make migrations`'


def run_cli(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, 'main.py', *args],
        cwd=ROOT,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_create_admin_is_idempotent_on_the_email_and_reads_stdin() -> None:
    args = ('create-admin', '--organization', 'Shell Org', '--name', 'Sam Shell', '--email', 'sam@example.com')
    created = run_cli(*args, '--password', '-', stdin='a long enough password\n')
    assert created.returncode == 0, created.stderr
    assert 'Created admin sam@example.com' in created.stdout
    again = run_cli(*args[:-1], 'SAM@example.com', '--password', 'another long password')
    assert again.returncode == 0 and 'Already exists' in again.stdout


def test_create_admin_refuses_bad_input_with_one_line() -> None:
    result = run_cli('create-admin', '--organization', 'X', '--name', 'Y', '--email', 'nope', '--password', 'short')
    assert result.returncode == 2
    assert result.stderr.strip().count('\n') == 0 and 'valid email' in result.stderr
    # Issue 14, points 14 and 16: Portico's own words, in sentences: no library parenthesis, no ".;".
    assert result.stderr.strip() == ('create-admin: Enter a valid email address: it needs an @, as in '
                                     'name@example.com. Use at least 10 characters.')  # fmt: skip


def test_bad_database_url_stops_the_start_without_a_traceback() -> None:
    result = run_cli('migrate', DATABASE_URL='mysql://localhost/portico')
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert result.stderr.strip() == "portico: DATABASE_URL must start with sqlite:// or postgres://, not 'mysql'"
    unreachable = run_cli('migrate', DATABASE_URL='postgres://nobody@127.0.0.1:1/portico')
    assert unreachable.returncode == 2 and 'Traceback' not in unreachable.stderr
    assert 'cannot open the database' in unreachable.stderr
    nowhere = run_cli('migrate', DATABASE_URL='sqlite:///nonexistent/dir/portico.sqlite3')  # used to hang
    assert nowhere.returncode == 2
    assert nowhere.stderr.strip() == 'portico: DATABASE_URL points into /nonexistent/dir, which is not a directory'


@pytest.mark.skipif(not os.environ.get('DATABASE_URL', '').startswith('postgres'), reason='needs a PostgreSQL server')
def test_a_refusing_postgresql_server_stops_the_start_with_one_line() -> None:
    from urllib.parse import urlsplit

    server = urlsplit(os.environ['DATABASE_URL'])
    result = run_cli('migrate', DATABASE_URL=f'postgres://no_such_role_x@{server.hostname}:{server.port or 5432}/x')
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert result.stderr.strip().count('\n') == 0 and 'cannot open the database' in result.stderr


def test_migrate_applies_and_then_has_nothing_to_do(tmp_path: Path) -> None:
    url = f'sqlite://{tmp_path / "fresh.sqlite3"}'
    first = run_cli('migrate', DATABASE_URL=url)
    assert first.returncode == 0
    # Issue 14, point 16: a new database is said to be created, not "up to date".
    assert first.stdout.strip().startswith(f'Created the database at {tmp_path / "fresh.sqlite3"} (')
    assert run_cli('migrate', DATABASE_URL=url).stdout.strip() == 'Migrations are up to date.'


async def test_the_search_text_migration_fills_the_users_that_exist(tmp_path: Path) -> None:
    """Users made before 0004 become searchable in any case once it runs (on PostgreSQL too, via DATABASE_URL)."""
    from tortoise.migrations.api.migrate import migrate

    from db.config import apply_migrations, open_database
    from db.models import User

    url = os.environ['DATABASE_URL']  # this test's own fresh database, already at the newest migration
    config = tortoise_config(url)
    await migrate(config=config, target='models.0003_billing_mirror')
    await Tortoise.close_connections()
    async with open_database(url):
        client = Tortoise.get_connection('default')
        await client.execute_script(
            'INSERT INTO organizations (name, billing_email, address_line1, address_line2, postal_code, city, country,'
            " tax_id, created_at, updated_at) VALUES ('Old Org', '', '', '', '', '', '', '', CURRENT_TIMESTAMP,"
            ' CURRENT_TIMESTAMP)'
        )
        await client.execute_script(
            'INSERT INTO users (organization_id, name, email, role, is_enabled, session_epoch, created_at, updated_at)'
            " SELECT id, 'Jürgen MÜLLER', 'jm@example.com', 'member', TRUE, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
            ' FROM organizations'
        )
    await apply_migrations(url)
    async with open_database(url):
        assert await User.filter(search_text__contains='müller').count() == 1
        assert (await User.get(email='jm@example.com')).search_text == 'jürgen müller\njm@example.com'


def test_seed_demo_fills_an_organization_within_its_seats_and_prints_the_login() -> None:
    import asyncio

    result = run_cli('seed-demo', '--users', '2000', '--organization', 'Demo Co')
    assert result.returncode == 0, result.stderr
    assert 'Added 2,000 users to Demo Co.' in result.stdout
    assert 'as admin@demo-co.example.com with password ' in result.stdout
    again = run_cli('seed-demo', '--users', '10', '--organization', 'Demo Co')
    assert 'Added 10 users to Demo Co.' in again.stdout and '(unchanged' in again.stdout

    async def check() -> None:
        from db.config import open_database
        from db.models import User

        async with open_database(os.environ['DATABASE_URL']):
            users = User.filter(organization__name='Demo Co')
            assert await users.count() == 2011  # the admin and both batches
            assert await users.filter(is_enabled=True).count() == 3  # the trial's seats, no more
            assert await users.filter(search_text='').count() == 0
            assert await users.filter(name__contains=' ').count() == 2011

    asyncio.run(check())

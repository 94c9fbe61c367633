"""One settings object, read from the environment once and validated before anything starts."""

import base64
import ipaddress
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

# Where offline billing serves Stripe's API, below BASE_URL.
EMULATOR_PATH = '/emulator/stripe'


class SettingsError(ValueError):
    """A setting is wrong; the message is one line meant for the operator."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    base_url: str
    data_dir: Path
    database_url: str
    storage_secret: str
    stripe_secret_key: str | None
    stripe_webhook_secret: str | None
    smtp_host: str | None
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None
    smtp_from: str
    smtp_tls: str
    trial_days: int
    trial_seats: int
    session_idle: timedelta = timedelta(hours=12)
    session_max_age: timedelta = timedelta(days=14)
    forwarded_allow_ips: str = '127.0.0.1'
    product_webhook_url: str | None = None
    product_webhook_secret: str = ''
    product_url: str | None = None
    grace_days: int = 7
    past_due_policy: str = 'cancel'

    @property
    def offline_billing(self) -> bool:
        return not self.stripe_secret_key

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith('sqlite:')

    @property
    def is_https(self) -> bool:
        return self.base_url.startswith('https://')

    @property
    def is_public(self) -> bool:
        """Whether people other than this machine's may reach the portal (a non-loopback HOST or BASE_URL)."""
        return not (_is_local(self.host) and _is_local(urlsplit(self.base_url).hostname or ''))

    @property
    def sqlite_path(self) -> Path | None:
        path = self.database_url.removeprefix('sqlite://') if self.is_sqlite else ':memory:'
        return None if path == ':memory:' else Path(path)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> 'Settings':
        env = os.environ if env is None else env
        host = env.get('HOST') or '127.0.0.1'
        port = _port(env.get('PORT') or '8080', 'PORT')
        data_dir = Path(env.get('DATA_DIR') or './data').resolve()
        smtp_tls = (env.get('SMTP_TLS') or 'none').lower()
        if smtp_tls not in {'none', 'starttls', 'tls'}:
            raise SettingsError(f'SMTP_TLS must be none, starttls or tls, not {smtp_tls!r}')
        stripe_key = env.get('STRIPE_SECRET_KEY') or None
        if stripe_key and not stripe_key.startswith(('sk_', 'rk_')):
            raise SettingsError('STRIPE_SECRET_KEY must be a Stripe secret key (sk_… or rk_…)')
        if stripe_key and not (env.get('STRIPE_WEBHOOK_SECRET') or '').startswith('whsec_'):
            raise SettingsError('STRIPE_WEBHOOK_SECRET (whsec_…) is required with STRIPE_SECRET_KEY')
        return cls(
            host=host,
            port=port,
            base_url=_base_url(env.get('BASE_URL') or f'http://{host}:{port}'),
            data_dir=data_dir,
            database_url=_database_url(env.get('DATABASE_URL') or f'sqlite://{data_dir / "portico.sqlite3"}'),
            storage_secret=env.get('STORAGE_SECRET') or '',
            stripe_secret_key=stripe_key,
            stripe_webhook_secret=env.get('STRIPE_WEBHOOK_SECRET') or None,
            smtp_host=env.get('SMTP_HOST') or None,
            smtp_port=_port(env.get('SMTP_PORT') or {'tls': '465', 'starttls': '587'}.get(smtp_tls, '25'), 'SMTP_PORT'),
            smtp_username=env.get('SMTP_USERNAME') or None,
            smtp_password=env.get('SMTP_PASSWORD') or None,
            smtp_from=env.get('SMTP_FROM') or 'Portico <portico@localhost>',
            smtp_tls=smtp_tls,
            trial_days=_positive_int(env.get('TRIAL_DAYS') or '14', 'TRIAL_DAYS'),
            trial_seats=_positive_int(env.get('TRIAL_SEATS') or '3', 'TRIAL_SEATS'),
            session_idle=timedelta(hours=_positive_int(env.get('SESSION_IDLE_HOURS') or '12', 'SESSION_IDLE_HOURS')),
            session_max_age=timedelta(days=_positive_int(env.get('SESSION_MAX_DAYS') or '14', 'SESSION_MAX_DAYS')),
            forwarded_allow_ips=_forwarded_allow_ips(env.get('FORWARDED_ALLOW_IPS', '127.0.0.1')),
            product_webhook_url=_optional_url(env.get('PRODUCT_WEBHOOK_URL'), 'PRODUCT_WEBHOOK_URL'),
            product_webhook_secret=_webhook_secret(env.get('PRODUCT_WEBHOOK_SECRET') or ''),
            product_url=_optional_url(env.get('PRODUCT_URL'), 'PRODUCT_URL'),
            grace_days=_whole(env.get('GRACE_DAYS') or '7', 'GRACE_DAYS'),
            past_due_policy=_past_due_policy(env.get('PAST_DUE_POLICY') or 'cancel'),
        )

    def prepare_data_dir(self) -> 'Settings':
        """Create DATA_DIR (mode 0700) and, when STORAGE_SECRET is unset, generate it once and keep it there.

        What lies in DATA_DIR (the database, secrets, the emulator's state) is for Portico's user alone: an older
        installation's wider modes are tightened to 0700 for folders and 0600 for files.
        """
        try:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            tighten(self.data_dir)
        except OSError as error:
            raise SettingsError(f'DATA_DIR {self.data_dir} cannot be prepared: {error.strerror}') from None
        if (path := self.sqlite_path) is not None:
            if not path.parent.is_dir():
                raise SettingsError(f'DATABASE_URL points into {path.parent}, which is not a directory')
            for file in (path, path.with_name(path.name + '-wal'), path.with_name(path.name + '-shm')):
                if file.is_file():
                    file.chmod(0o600)
        secrets_made = {}
        if not self.storage_secret:
            secrets_made['storage_secret'] = read_or_create_secret(self.data_dir / 'storage-secret')
        if not self.product_webhook_secret:
            secrets_made['product_webhook_secret'] = read_or_create_secret(
                self.data_dir / 'product-webhook-secret', make=lambda: 'whsec_' + base64.b64encode(
                    secrets.token_bytes(24)).decode()
            )  # fmt: skip
        return replace(self, **secrets_made)


def read_or_create_secret(path: Path, *, prefix: str = '', make=None) -> str:
    """Read a secret kept in a file, or write a new random one readable by the owner only."""
    if path.exists():
        os.chmod(path, 0o600)  # a copy or a restore may have widened it
        secret = path.read_text(encoding='utf-8').strip()
        if not secret:
            raise SettingsError(f'{path} is empty: delete it and Portico makes a new one (sessions then end)')
        return secret
    secret = make() if make else prefix + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w', encoding='utf-8') as file:
        file.write(secret + '\n')
    return secret


def tighten(folder: Path) -> None:
    """Modes 0700 for `folder` and the folders in it, 0600 for its files."""
    folder.chmod(0o700)
    for path in folder.rglob('*'):
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            path.chmod(0o700)
        elif stat.S_ISREG(mode):
            path.chmod(0o600)


def _is_local(host: str) -> bool:
    if host in {'localhost', ''} or host.endswith('.localhost'):
        return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False


def _forwarded_allow_ips(value: str) -> str:
    """uvicorn's FORWARDED_ALLOW_IPS: addresses or networks of trusted proxies, comma-separated, or '*'."""
    value = value.strip()
    for item in filter(None, (part.strip() for part in value.split(','))):
        if item == '*' or item.startswith('unix:'):
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(f'FORWARDED_ALLOW_IPS must list IP addresses or networks, not {item!r}') from None
    return value


def _optional_url(value: str | None, name: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {'http', 'https'} or not parts.netloc:
        raise SettingsError(f'{name} must be an http:// or https:// address, not {value!r}')
    return value


def _webhook_secret(value: str) -> str:
    """A Standard Webhooks secret: `whsec_` and base64 of at least 24 bytes."""
    if not value:
        return ''
    encoded = value.removeprefix('whsec_')
    try:
        key = base64.b64decode(encoded + '=' * (-len(encoded) % 4), validate=True)
    except ValueError:
        key = b''
    if len(key) < 24:
        raise SettingsError('PRODUCT_WEBHOOK_SECRET must be whsec_ followed by base64 of at least 24 random bytes')
    return value


def _port(value: str, name: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise SettingsError(f'{name} must be a number from 1 to 65535, not {value!r}')
    return int(value)


def _positive_int(value: str, name: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f'{name} must be a whole number of at least 1, not {value!r}')
    return int(value)


def _whole(value: str, name: str) -> int:
    if not value.isdigit():
        raise SettingsError(f'{name} must be a whole number of 0 or more, not {value!r}')
    return int(value)


def _past_due_policy(value: str) -> str:
    """What the emulator does after a failed invoice's last retry; with real Stripe, its Dashboard decides."""
    policy = value.strip().lower()
    if policy not in ('cancel', 'unpaid'):
        raise SettingsError(f'PAST_DUE_POLICY must be cancel or unpaid, not {value!r}')
    return policy


def _base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {'http', 'https'} or not parts.netloc:
        raise SettingsError(f'BASE_URL must be an http:// or https:// address, not {value!r}')
    return value.rstrip('/')


def _database_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme == 'sqlite':
        if not value.removeprefix('sqlite://'):
            raise SettingsError('DATABASE_URL sqlite://… needs a file path, e.g. sqlite:///var/lib/portico/db.sqlite3')
        return value
    if parts.scheme in {'postgres', 'postgresql', 'asyncpg'}:
        if not parts.hostname or not parts.path.strip('/'):
            raise SettingsError('DATABASE_URL must name a host and a database: postgres://user:pass@host:5432/db')
        try:
            parts.port  # noqa: B018 - raises on a non-numeric port
        except ValueError:
            raise SettingsError('DATABASE_URL has an invalid port') from None
        return 'postgres' + value[len(parts.scheme) :] if parts.scheme == 'postgresql' else value
    raise SettingsError(f'DATABASE_URL must start with sqlite:// or postgres://, not {value.split(":")[0]!r}')

"""The command line: `python main.py COMMAND …` (the portal itself when there is no command)."""

import argparse
import asyncio
import sys

from db.config import open_database
from services.container import Services
from services.settings import EMULATOR_PATH, Settings


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
    keys = commands.add_parser('api-key', help="the product API's keys").add_subparsers(dest='action', required=True)
    keys.add_parser('create', help='make a key and print it once').add_argument('--name', required=True)
    keys.add_parser('list', help='the keys, with their prefix and last use')
    keys.add_parser('revoke', help='revoke a key').add_argument('name_or_prefix')
    hooks = commands.add_parser('webhooks', help="the product webhooks' queue")
    hooks = hooks.add_subparsers(dest='action', required=True)
    hooks.add_parser('status', help='pending, failed and delivered events, and the failing ones')
    hooks.add_parser('resend', help='send one event again').add_argument('id', type=int)
    clients = commands.add_parser('oidc-client', help='clients that sign their users in through Portico')
    clients = clients.add_subparsers(dest='action', required=True)
    made = clients.add_parser('create', help='register a client and print its id and secret once')
    made.add_argument('--name', required=True)
    made.add_argument('--redirect-uri', action='append', required=True, dest='redirect_uris',
                      help='where the product receives the code; exact match; repeat for several')  # fmt: skip
    made.add_argument('--post-logout-redirect-uri', action='append', default=[], dest='post_logout_redirect_uris')
    made.add_argument('--backchannel-logout-uri', default='', help='where Portico POSTs a logout token')
    clients.add_parser('list', help='the clients, with their redirect URIs')
    clients.add_parser('revoke', help='revoke a client and all its tokens').add_argument('name')
    oidc_keys = commands.add_parser('oidc-keys', help='the signing keys of Sign in with Portico')
    oidc_keys.add_subparsers(dest='action', required=True).add_parser(
        'rotate', help='add a new key; the old one verifies until its last token expired, then retires'
    )
    return parser.parse_args(argv)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the command; its exit code (0, or 2 with a one-line reason on stderr)."""
    commands = {'create-admin': create_admin, 'stripe-sync': stripe_sync, 'seed-demo': seed_demo,
                'password-link': password_link, 'api-key': api_key, 'webhooks': webhooks, 'oidc-client': oidc_client,
                'oidc-keys': oidc_keys}  # fmt: skip
    return asyncio.run(commands[args.command](settings, args))


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
    from services.billing.mirror import seat_limit
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
    from services.errors import ServiceError
    from services.passwords import operator_link

    async with open_database(settings.database_url):
        try:
            link = await operator_link(email=args.email, base_url=settings.base_url)
        except ServiceError as refusal:
            print(f'password-link: {refusal}', file=sys.stderr)
            return 2
    print(link)
    print('It works once. Hand it to the user yourself; it is not stored anywhere.', file=sys.stderr)
    return 0


async def stripe_sync(settings: Settings, args: argparse.Namespace) -> int:
    """Create or update the catalog's Products and Prices in Stripe (or, offline, in the emulator)."""
    emulator_app = None
    if settings.offline_billing:
        from stripe_emulator import EmulatorConfig, create_app

        emulator_app = create_app(EmulatorConfig(data_dir=settings.data_dir, base_url=settings.base_url,
                                                 mount_path=EMULATOR_PATH))  # fmt: skip
    services = Services.build(settings, emulator_app=emulator_app)
    try:
        changes = await services.billing.prices.sync()
    finally:
        if emulator_app:
            emulator_app.state.emulator.close()
    where = 'the offline emulator' if settings.offline_billing else 'Stripe'
    print('\n'.join(changes) if changes else f'The plan catalog in {where} is up to date.')
    return 0


async def api_key(settings: Settings, args: argparse.Namespace) -> int:
    """`api-key create --name NAME` prints the key once; `list`; `revoke NAME_OR_PREFIX`."""
    from services import api_keys
    from services.errors import ServiceError

    async with open_database(settings.database_url):
        try:
            if args.action == 'create':
                made = await api_keys.create(name=args.name, live=not settings.offline_billing)
                print(made.secret)
                print(f'The key {made.key.name} ({made.key.prefix}…) is shown only now: keep it in your product\'s '
                      'secrets.', file=sys.stderr)  # fmt: skip
            elif args.action == 'revoke':
                revoked = await api_keys.revoke(args.name_or_prefix)
                print(f'Revoked {revoked.name} ({revoked.prefix}…).')
            else:
                for key in await api_keys.listed():
                    used = key.last_used_at.isoformat(timespec='seconds') if key.last_used_at else 'never used'
                    state = f'revoked {key.revoked_at:%Y-%m-%d}' if key.revoked_at else 'active'
                    print(f'{key.name}\t{key.prefix}…\t{state}\tcreated {key.created_at:%Y-%m-%d}\t{used}')
        except ServiceError as refusal:
            print(f'api-key: {refusal}', file=sys.stderr)
            return 2
    return 0


async def webhooks(settings: Settings, args: argparse.Namespace) -> int:
    """`webhooks status`: the queue of events for the product; `webhooks resend ID`: send one again."""
    from services import product_webhooks
    from services.errors import ServiceError

    async with open_database(settings.database_url):
        if args.action == 'resend':
            try:
                queued = await product_webhooks.resend(args.id)
            except ServiceError as refusal:
                print(f'webhooks: {refusal}', file=sys.stderr)
                return 2
            print(f'Event {queued.id} ({queued.type}, {queued.message_id}) is queued again.')
            return 0
        status = await product_webhooks.status()
    unset = 'none (PRODUCT_WEBHOOK_URL is unset: no events are queued; back-channel logouts go to their clients)'
    print(f'destination: {settings.product_webhook_url or unset}')
    print(f'pending {status.pending}, failed {status.failed}, delivered {status.delivered}')
    for delivery in status.failing:
        retry = delivery.next_attempt_at.isoformat(timespec='seconds')
        print(f'{delivery.id}\t{delivery.type}\tattempts {delivery.attempts}\tnext {retry}\t{delivery.last_error}')
    return 0


async def oidc_client(settings: Settings, args: argparse.Namespace) -> int:
    """`oidc-client create …` prints the client id and secret once; `list`; `revoke NAME`."""
    from services import oidc
    from services.errors import ServiceError

    async with open_database(settings.database_url):
        try:
            if args.action == 'create':
                made = await oidc.create_client(
                    name=args.name, redirect_uris=args.redirect_uris,
                    post_logout_redirect_uris=args.post_logout_redirect_uris,
                    backchannel_logout_uri=args.backchannel_logout_uri,
                )  # fmt: skip
                print(f'client_id={made.client.client_id}')
                print(f'client_secret={made.secret}')
                print(f'issuer={settings.base_url}  (discovery: {settings.base_url}/.well-known/openid-configuration)')
                print("The secret is shown only now: keep it in your product's secrets.", file=sys.stderr)
            elif args.action == 'revoke':
                revoked = await oidc.revoke_client(args.name)
                print(f'Revoked {revoked.name} ({revoked.client_id}); its tokens no longer work.')
            else:
                for client in await oidc.listed():
                    state = f'revoked {client.revoked_at:%Y-%m-%d}' if client.revoked_at else 'active'
                    logout = client.backchannel_logout_uri or 'no back-channel logout'
                    print(f'{client.name}\t{client.client_id}\t{state}\t{" ".join(client.redirect_uris)}\t{logout}')
        except ServiceError as refusal:
            print(f'oidc-client: {refusal}', file=sys.stderr)
            return 2
    return 0


async def oidc_keys(settings: Settings, args: argparse.Namespace) -> int:
    """`oidc-keys rotate`: a new signing key; the old one is published until its tokens have expired."""
    from services.oidc_keys import RETIRE_AFTER_SECONDS, KeyStore

    new, retiring = KeyStore(settings.data_dir).rotate()
    print(f'New signing key {new.kid}.')
    for key in retiring:
        print(f'Key {key.kid} verifies until it retires in {RETIRE_AFTER_SECONDS} s.')
    return 0

"""Demo data: an organization filled with realistic users, for demos and benchmarks."""

import random
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from tortoise.transactions import in_transaction

from db.models import Organization, Role, User, user_search_text
from services.billing.mirror import seats_in_use
from services.moments import now
from services.organizations import NewAdmin, create_organization_with_admin

FIRST_NAMES = (
    'Ada Alan Amara Anders Aiko Beatriz Bjorn Carlos Chen Chiara Daniel Dmitri Elena Emeka Fatima Finn Grace Hana '
    'Hugo Ingrid Isaac Jamal Jana Jonas Julia Kai Kenji Lars Layla Leon Lucia Malik Maria Mateo Mei Mila Nadia '
    'Noah Nora Olga Omar Oscar Paula Pedro Priya Rafael Rosa Sam Sara Sofia Tariq Teresa Tomas Uma Victor Wei '
    'Yara Yusuf Zara Zoe'
).split()
LAST_NAMES = (
    'Abbott Alvarez Andersen Bakker Becker Bianchi Brown Carvalho Chen Costa Dubois Eriksen Fischer Garcia Gomez '
    'Hansen Hoffmann Ivanova Jansen Jensen Kim Kowalski Larsen Lopez Martin Meyer Moreau Muller Nakamura Nguyen '
    'Novak Okafor Olsen Patel Peeters Petrov Ramos Rossi Santos Schmidt Silva Singh Smith Sorensen Tanaka Taylor '
    'Visser Wagner Wang Weber Williams Wilson Yamamoto Young Zhang Zimmermann'
).split()
BATCH = 5000


class RealUsersPresent(ValueError):
    """The organization has users that seed-demo did not make; filling it needs --force."""


@dataclass(frozen=True)
class DemoResult:
    organization: Organization
    admin_email: str
    admin_password: str | None
    created: int


def demo_domain(organization_name: str) -> str:
    """Demo users live at example.com (reserved, RFC 2606): no demo admin can ever receive a real person's mail."""
    slug = re.sub(r'[^a-z0-9]+', '-', organization_name.lower()).strip('-') or 'demo'
    return f'{slug}.example.com'


async def seed_demo(
    *, users: int, seat_limit: int, organization_name: str = 'Demo Company', seed: int | None = None,
    force: bool = False,
) -> DemoResult:  # fmt: skip
    """Create `users` users with realistic names, a few of them admins, in one transaction per batch.

    Users are enabled while seats remain (the seat rule holds for demo data too); the rest are disabled. An
    organization with users that seed-demo did not make is refused unless `force`.
    """
    rng = random.Random(seed)
    domain = demo_domain(organization_name)
    organization = await Organization.filter(name=organization_name).order_by('id').first()
    password = None
    if organization is not None and not force:
        real = User.filter(organization_id=organization.id).exclude(email__endswith=f'@{domain}')
        if await real.exists():
            raise RealUsersPresent(
                f'{organization_name!r} has real users (addresses outside {domain}); seed-demo fills only demo '
                'organizations. Give --organization another name, or add --force to fill it anyway.'
            )
    if organization is None:
        password = secrets.token_urlsafe(12)
        admin, _ = await create_organization_with_admin(
            NewAdmin(organization_name, 'Demo Admin', f'admin@{domain}', password)
        )
        organization = await Organization.get(id=admin.organization_id)
    admin = await User.filter(organization_id=organization.id, role=Role.ADMIN).order_by('id').first()
    start = await User.filter(organization_id=organization.id).count()
    moment = now()
    enabled = await seats_in_use(organization.id)
    for offset in range(0, users, BATCH):
        batch = []
        for number in range(start + offset, start + min(offset + BATCH, users)):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            logged_in = rng.random() < 0.7
            enable = enabled < seat_limit and rng.random() < 0.9
            enabled += enable
            name, email = f'{first} {last}', f'{first}.{last}.{number}@{domain}'.lower()
            batch.append(
                User(
                    organization_id=organization.id,
                    name=name,
                    email=email,
                    search_text=user_search_text(name, email),  # bulk_create does not run save()
                    role=Role.ADMIN if rng.random() < 0.02 else Role.MEMBER,
                    is_enabled=enable,
                    last_login_at=moment - timedelta(minutes=rng.randrange(60 * 24 * 90)) if logged_in else None,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        async with in_transaction():
            await User.bulk_create(batch)
    return DemoResult(organization=organization, admin_email=admin.email, admin_password=password, created=users)

"""Builders of random valid data and the steps tests repeat."""

import uuid

from nicegui import ui
from nicegui.testing import User as UserSim

from db.models import Role, User
from services.auth import Session, hash_password
from services.organizations import NewAdmin, create_organization_with_admin

PASSWORD = 'correct horse battery staple'


def random_email(prefix: str = 'user') -> str:
    return f'{prefix}-{uuid.uuid4().hex[:8]}@example.com'


async def create_admin(organization: str = 'Acme Corp', *, email: str | None = None, name: str = 'Ada Admin') -> User:
    admin, created = await create_organization_with_admin(
        NewAdmin(organization_name=organization, name=name, email=email or random_email('admin'), password=PASSWORD)
    )
    assert created
    return admin


async def create_member(admin: User, *, role: Role = Role.MEMBER, email: str | None = None, name: str = 'Max Member'):
    return await User.create(
        organization_id=admin.organization_id,
        name=name,
        email=email or random_email('member'),
        role=role,
        password_hash=await hash_password(PASSWORD),
    )


def session_of(user: User) -> Session:
    return Session(user_id=user.id, epoch=user.session_epoch)


async def log_in(user: UserSim, email: str, password: str = PASSWORD, *, expect: str = 'Administration portal') -> None:
    await user.open('/login')
    user.find('Email').type(email)
    user.find('Password').type(password)
    click(user, 'Log in')
    await user.should_see(expect, retries=40)


def click(user: UserSim, label: str) -> None:
    """Click the button with this exact label (a bare find('Log in') would also match a heading)."""
    finder = user.find(kind=ui.button, content=label)
    finder.elements = {button for button in finder.elements if button.text == label}
    assert finder.elements, f'no button labelled {label!r}'
    finder.click()

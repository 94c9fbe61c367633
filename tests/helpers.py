"""Builders of random valid data and the steps tests repeat."""

import uuid

from nicegui import ui
from nicegui.testing import User as UserSim

from db.models import Role, User
from services.auth import Session, open_session
from services.organizations import NewAdmin, create_organization_with_admin
from services.passwords import hash_password

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


async def session_of(user: User) -> Session:
    """A logged-in session of `user`, as a browser gets after "Log in"."""
    return await open_session(user)


async def log_in(user: UserSim, email: str, password: str = PASSWORD, *, expect: str = 'Administration portal') -> None:
    await user.open('/login')
    user.find('Email').type(email)
    user.find('Password').type(password)
    click(user, 'Log in')
    await user.should_see(expect, retries=40)


async def log_out(user: UserSim) -> None:
    """Press "Log out": the header's form POSTs /logout with its token; the open page then leaves for /login."""
    [token] = [element.props['value'] for element in user.client.elements.values()
               if element.tag == 'input' and element.props.get('name') == 'csrf']  # fmt: skip
    response = await user.http_client.post('/logout', data={'csrf': token})
    assert response.status_code == 303 and response.headers['location'] == '/login'
    await user.should_see('Log in to Portico', retries=40)


def click(user: UserSim, label: str) -> None:
    """Click the button with this exact label (a bare find('Log in') would also match a heading)."""
    finder = user.find(kind=ui.button, content=label)
    finder.elements = {button for button in finder.elements if button.text == label}
    assert finder.elements, f'no button labelled {label!r}'
    finder.click()

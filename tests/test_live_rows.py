"""Issue 15: another admin's change reaches an open /admin as what it changed. A single user's change updates that
user's row alone (no element rebuilt, no list query); the list reloads only when its rows or their order may change."""

import asyncio

import pytest
from nicegui.testing import User as UserSim

from components.user_row import UserRow
from db.models import Role
from services.errors import NotAuthenticated
from services.forms import UserForm
from services.users import UserChange, UserDirectory, UserQuery
from tests.helpers import create_admin, create_member, log_in, session_of
from tests.test_subscription_page import running_services
from tests.test_users_page import user_list


@pytest.fixture
def list_loads(monkeypatch) -> list[int]:
    """Counts the user-list queries the open pages make (`UserDirectory.page`)."""
    loads: list[int] = []
    original = UserDirectory.page

    async def counted(self, **kwargs):
        loads.append(1)
        return await original(self, **kwargs)

    monkeypatch.setattr(UserDirectory, 'page', counted)
    return loads


async def eventually(check, tries: int = 60) -> None:
    for _ in range(tries):
        if check():
            return
        await asyncio.sleep(0.05)
    assert check()


def rows(user: UserSim) -> dict[str, UserRow]:
    return {row.props['name']: row for row in user_list(user).rows_area.descendants() if isinstance(row, UserRow)}


async def open_page_of_an_organization(user: UserSim):
    """Ada's /admin open on 5 users, and Bob, another admin of the same organization, who makes the changes."""
    ada = await create_admin()
    bob = await create_member(ada, name='Bob Admin', email='bob@example.com', role=Role.ADMIN)
    for name in ('Cy Member', 'Di Member', 'Ed Member'):
        await create_member(ada, name=name, email=f'{name.split()[0].lower()}@example.com')
    await log_in(user, ada.email)
    await user.should_see('Ed Member')
    return ada, await session_of(bob)


async def test_disabling_a_user_updates_that_row_alone(user: UserSim, list_loads: list[int]) -> None:
    ada, bob = await open_page_of_an_organization(user)
    before = rows(user)
    ids_before = {name: row.id for name, row in before.items()}
    last_element = max(user.client.elements)
    loads = len(list_loads)

    cy = before['Cy Member'].user
    await running_services().users.set_enabled(session=bob, user_id=cy.id, enabled=False)

    await eventually(lambda: before['Cy Member'].props['enabled'] is False)
    await eventually(lambda: user_list(user).seats.text.startswith('4 of '))
    after = rows(user)
    assert {name: row.id for name, row in after.items()} == ids_before  # the same elements: nothing rebuilt
    assert max(user.client.elements) == last_element  # and nothing built
    assert len(list_loads) == loads  # no list query
    assert [row.props['enabled'] for row in after.values()] == [True, True, False, True, True]
    assert ada.name in after


async def test_a_rename_updates_its_row_alone_unless_the_list_is_sorted_or_searched_by_name(
    user: UserSim, list_loads: list[int]
) -> None:
    ada, bob = await open_page_of_an_organization(user)
    users = running_services().users
    ed = rows(user)['Ed Member'].user

    # Sorted by name (the default): a rename may move the row, so the list reloads, in the new order.
    loads = len(list_loads)
    await users.edit(session=bob, user_id=ed.id, form=UserForm('Aaron Member', ed.email, 'member'))
    await eventually(lambda: next(iter(rows(user))) == 'Aaron Member')
    assert len(list_loads) == loads + 1
    assert list(rows(user)) == ['Aaron Member', 'Ada Admin', 'Bob Admin', 'Cy Member', 'Di Member']

    # Sorted by email: the same rename only changes its row.
    await user_list(user)._set(sort='email', page=1)
    ids_before = {row.user.id: row.id for row in rows(user).values()}
    last_element, loads = max(user.client.elements), len(list_loads)
    await users.edit(session=bob, user_id=ed.id, form=UserForm('Eddie Member', ed.email, 'member'))
    await eventually(lambda: 'Eddie Member' in rows(user))
    assert {row.user.id: row.id for row in rows(user).values()} == ids_before
    assert max(user.client.elements) == last_element
    assert len(list_loads) == loads

    # A role alone never moves a row.
    await users.edit(session=bob, user_id=ed.id, form=UserForm('Eddie Member', ed.email, 'admin'))
    await eventually(lambda: rows(user)['Eddie Member'].props['role'] == 'Admin')
    assert len(list_loads) == loads
    assert max(user.client.elements) == last_element


async def test_a_search_reloads_when_a_rename_may_take_a_user_in_or_out_of_it(user: UserSim, list_loads) -> None:
    ada, bob = await open_page_of_an_organization(user)
    await user_list(user)._set(search='member', page=1)
    assert list(rows(user)) == ['Cy Member', 'Di Member', 'Ed Member']
    cy = rows(user)['Cy Member'].user
    await running_services().users.edit(session=bob, user_id=cy.id, form=UserForm('Cy Contractor', cy.email, 'member'))
    await eventually(lambda: list(rows(user)) == ['Di Member', 'Ed Member'])


async def test_an_added_or_deleted_user_reloads_the_list(user: UserSim, list_loads: list[int]) -> None:
    ada, bob = await open_page_of_an_organization(user)
    users = running_services().users
    loads = len(list_loads)
    drawn = {row.id for row in rows(user).values()}
    await users.delete(session=bob, user_id=rows(user)['Di Member'].user.id)  # 5 users on a trial's 3 seats
    await eventually(lambda: 'Di Member' not in rows(user))
    assert len(list_loads) == loads + 1
    assert {row.id for row in rows(user).values()} < drawn  # the rows moved up into the rows drawn; one went
    drawn = {row.id for row in rows(user).values()}
    for name in ('Cy Member', 'Ed Member'):  # 2 of 3 seats taken: room for one more
        await users.set_enabled(session=bob, user_id=rows(user)[name].user.id, enabled=False)
    await users.add(session=bob, form=UserForm('Ann Member', 'ann@example.com', 'member'))
    await eventually(lambda: 'Ann Member' in rows(user))
    assert len(list_loads) == loads + 2
    assert list(rows(user)) == ['Ada Admin', 'Ann Member', 'Bob Admin', 'Cy Member', 'Ed Member']
    assert len({row.id for row in rows(user).values()} - drawn) == 1  # one row built, at the end; the rest moved
    assert [row.props['enabled'] for row in rows(user).values()] == [True, True, True, False, False]


async def test_the_pages_reloading_after_one_change_share_one_read(user: UserSim, monkeypatch) -> None:
    """N open pages that reload after the same change cost one list query, not N; each caller is still checked."""
    ada = await create_admin()
    bob = await create_member(ada, name='Bob Admin', email='bob@example.com', role=Role.ADMIN)
    reads: list[int] = []
    original = UserDirectory._page

    async def counted(self, organization_id, query):
        reads.append(organization_id)
        return await original(self, organization_id, query)

    monkeypatch.setattr(UserDirectory, '_page', counted)
    users = running_services().users
    sessions = [await session_of(ada), await session_of(bob), await session_of(ada)]
    change = UserChange(kind='added', user=bob, fields=frozenset(), seats_used=2)
    pages = await asyncio.gather(*(users.page(session=s, query=UserQuery(), after=change) for s in sessions))
    assert reads == [ada.organization_id]
    assert [[row.name for row in page.rows] for page in pages] == [['Ada Admin', 'Bob Admin']] * 3
    later = UserChange(kind='added', user=bob, fields=frozenset(), seats_used=2)
    await users.page(session=sessions[0], query=UserQuery(), after=later)  # a newer change: a newer read
    await users.page(session=sessions[0], query=UserQuery())  # the page's own search or paging: its own read
    assert len(reads) == 3
    with pytest.raises(NotAuthenticated):
        await users.page(session=None, query=UserQuery(), after=change)


async def test_the_organization_section_shows_a_rename_without_a_list_query(user: UserSim, list_loads) -> None:
    ada, bob = await open_page_of_an_organization(user)
    loads = len(list_loads)
    values = {'name': 'Acme Renamed', 'billing_email': 'billing@example.com', 'country': 'DE'}
    await running_services().organizations.update(session=bob, organization_id=ada.organization_id, values=values)
    await user.should_see('Acme Renamed', retries=40)
    assert len(list_loads) == loads

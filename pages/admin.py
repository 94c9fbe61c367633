"""/admin: the administration portal, for enabled admins only."""

from fastapi.responses import RedirectResponse
from nicegui import background_tasks, ui

from components.activity_log import ActivityLog
from components.frame import frame
from components.organization_section import OrganizationSection
from components.user_list import UserActions, UserList
from db.models import Organization, User
from pages.session import current_session, log_out, run_action
from services import audit, organizations
from services.auth import require_admin
from services.container import Services
from services.errors import NotAuthenticated, PermissionDenied
from services.events import organization_changed, session_ended, users_changed


def register(services: Services) -> None:
    test_mode = services.settings.offline_billing
    users = services.users

    @ui.page('/admin')
    async def admin_page() -> RedirectResponse | None:
        try:
            admin = await require_admin(current_session())
        except NotAuthenticated:
            return RedirectResponse('/login')
        except PermissionDenied as refusal:
            with frame('Administration', test_mode=test_mode, user_name='', on_logout=log_out):
                ui.label(str(refusal)).classes('text-h6 q-mt-xl')
            return None
        organization = admin.organization

        def act(action):
            """Every action goes through the services with the session as it is now."""
            return run_action(lambda: action(current_session()))

        async def save_organization(values: dict[str, str]):
            return await act(
                lambda session: organizations.update_organization(
                    session=session, organization_id=organization.id, values=values, events=services.events
                )
            )

        async def delete(user: User) -> bool | None:
            return await act(lambda session: _deleted(users.delete(session=session, user_id=user.id)))

        actions = UserActions(
            load=lambda query: act(lambda session: users.page(session=session, query=query)),
            add=lambda name, email, role: act(
                lambda session: users.add(session=session, name=name, email=email, role=role)
            ),
            edit=lambda user, name, email, role: act(
                lambda session: users.edit(session=session, user_id=user.id, name=name, email=email, role=role)
            ),
            resend=lambda user: act(lambda session: users.resend_password_email(session=session, user_id=user.id)),
            delete=delete,
            set_enabled=lambda user, enabled: act(
                lambda session: users.set_enabled(session=session, user_id=user.id, enabled=enabled)
            ),
            add_seats=lambda: _explain_seats(services.settings.trial_seats),
        )

        with frame('Administration', test_mode=test_mode, user_name=admin.name, on_logout=log_out):
            ui.label('Administration portal').classes('text-h4')
            OrganizationSection(organization, countries=organizations.countries(), on_save=save_organization)
            user_list = UserList(actions, current_user_id=admin.id)
            activity = ActivityLog(
                lambda: act(lambda session: _latest_activity(session, organization_id=organization.id))
            )
        await user_list.reload()
        _follow_changes(services, admin, organization, user_list, activity)
        return None


def _follow_changes(
    services: Services, admin: User, organization: Organization, user_list: UserList, activity: ActivityLog
) -> None:
    """Keep this open page current: other admins' changes show without a reload, and an ended session leaves."""
    client = ui.context.client

    def refresh(_=None) -> None:
        background_tasks.create(_refresh(user_list, activity), name='refresh users')

    def copy_organization(saved: Organization) -> None:
        for field in organizations.EDITABLE_FIELDS:
            setattr(organization, field, getattr(saved, field))
        background_tasks.create(activity.reload(), name='refresh activity')

    def leave(_=None) -> None:
        # Runs in the acting admin's context: only steer this page's client; its session is already void.
        with client:
            ui.navigate.to('/login')

    unsubscribes = [
        services.events.subscribe(users_changed(organization.id), refresh),
        services.events.subscribe(organization_changed(organization.id), copy_organization),
        services.events.subscribe(session_ended(admin.id), leave),
    ]
    client.on_delete(lambda: [unsubscribe() for unsubscribe in unsubscribes])


async def _refresh(user_list: UserList, activity: ActivityLog) -> None:
    await user_list.reload()
    await activity.reload()


async def _deleted(deletion) -> bool:
    await deletion
    return True


async def _latest_activity(session, *, organization_id: int):
    await require_admin(session, organization_id=organization_id)
    return await audit.latest(organization_id=organization_id)


def _explain_seats(trial_seats: int) -> None:
    with ui.dialog() as dialog, ui.card().style('max-width: 28rem'):
        ui.label('Add seats').classes('text-h6')
        ui.label(
            f'Your organization is on the trial, which allows {trial_seats} enabled users. Seats are bought with a '
            'subscription, which this version of Portico cannot sell yet. Until then, disable a user to free a seat.'
        )
        with ui.row().classes('w-full justify-end'):
            ui.button('Close', on_click=dialog.close).props('flat')
    dialog.open()

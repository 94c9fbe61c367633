"""/admin: the administration portal, for enabled admins only."""

from fastapi.responses import RedirectResponse
from nicegui import background_tasks, ui
from nicegui.storage import request_contextvar

from components.activity_log import ActivityLog
from components.frame import frame
from components.organization_section import OrganizationSection
from components.subscription_section import SubscriptionSection
from components.user_list import UserActions, UserList
from db.models import User
from pages.billing import subscription_actions
from pages.session import PageSession, logout_token
from services import organizations
from services.container import Services
from services.errors import NotAuthenticated, PermissionDenied
from services.events import (
    billing_changed,
    browser_session_ended,
    organization_changed,
    session_ended,
    users_changed,
)


def register(services: Services) -> None:
    test_mode = services.settings.offline_billing
    users = services.users

    # Many admins opening the portal at once share one event loop: give slow builds time rather than a 500.
    @ui.page('/admin', response_timeout=30)
    async def admin_page(checkout_session: str | None = None) -> RedirectResponse | None:
        page = PageSession(services)
        page_session = page.session
        try:
            admin = await page.admin()
        except NotAuthenticated:
            return RedirectResponse('/login')
        except PermissionDenied as refusal:
            with frame('Administration', test_mode=test_mode, user_name='', logout_token=logout_token(page_session)):
                ui.label(str(refusal)).classes('text-h6 q-mt-xl')
            return None
        organization = admin.organization
        act, load = page.act, page.read

        async def save_organization(values: dict[str, str]):
            saved = await act(
                lambda session: organizations.update_organization(
                    session=session, organization_id=organization.id, values=values, events=services.events
                )
            )
            if saved is not None:
                await act(lambda _: services.billing.update_customer(saved))  # the Stripe customer follows
            return saved

        async def delete(user: User) -> bool | None:
            return await act(lambda session: _deleted(users.delete(session=session, user_id=user.id)))

        billing_actions = subscription_actions(services, act)
        actions = UserActions(
            load=lambda query: load(lambda session: users.page(session=session, query=query)),
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
            add_seats=billing_actions.add_seats or (lambda: ui.navigate.to('/admin/subscriptions')),
        )

        overview = await services.billing.overview(session=page_session)
        with frame(
            'Administration', test_mode=test_mode, user_name=admin.name, logout_token=logout_token(page_session)
        ):
            ui.label('Administration portal').classes('text-h4').props('role=heading aria-level=1')
            OrganizationSection(organization, countries=organizations.countries(), on_save=save_organization)
            subscription = SubscriptionSection(overview, billing_actions)
            user_list = UserList(actions, current_user_id=admin.id)
            activity = ActivityLog(lambda: load(lambda session: organizations.activity(session=session)))
        await user_list.reload()

        async def refresh_users() -> None:
            await user_list.reload()
            await activity.reload()

        async def refresh_billing() -> None:
            latest = await load(lambda session: services.billing.overview(session=session))
            if latest is not None:
                subscription.show(latest)
                await refresh_users()

        _follow_changes(services, page_session, organization, refresh_users, refresh_billing)
        if checkout_session:
            # Back from a token purchase or a new card: fulfil here too, in case Stripe's webhook is late or lost.
            status = await load(
                lambda _: services.billing.fulfill_checkout(checkout_session, organization_id=organization.id)
            )
            if status == 'complete':
                ui.notify('Checkout complete. Thank you!', type='positive')
        return None


def _follow_changes(services: Services, page_session, organization, refresh_users, refresh_billing) -> None:
    """Keep this open page current: other admins' changes and webhooks show without a reload, and an ended
    session leaves at once. Callbacks run in the context of whoever published, so they touch only this client."""
    client = ui.context.client

    def later(work) -> None:
        async def run() -> None:
            # Elements built now remember the current request, and their clicks later act with its session: it
            # must be this page's own request, not that of the admin (or webhook) whose change is being shown.
            request_contextvar.set(client.request)
            with client:
                await work()

        background_tasks.create(run(), name='refresh admin page')

    def copy_organization(saved) -> None:
        for field in organizations.EDITABLE_FIELDS:
            setattr(organization, field, getattr(saved, field))
        later(refresh_users)

    def leave(_=None) -> None:
        with client:
            ui.navigate.to('/login')

    unsubscribes = [
        services.events.subscribe(users_changed(organization.id), lambda _: later(refresh_users)),
        services.events.subscribe(organization_changed(organization.id), copy_organization),
        services.events.subscribe(billing_changed(organization.id), lambda _: later(refresh_billing)),
        services.events.subscribe(session_ended(page_session.user_id), leave),
        services.events.subscribe(browser_session_ended(page_session.digest), leave),
    ]
    client.on_delete(lambda: [unsubscribe() for unsubscribe in unsubscribes])


async def _deleted(deletion) -> bool:
    await deletion
    return True

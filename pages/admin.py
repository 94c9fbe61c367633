"""/admin: the administration portal, for enabled admins only."""

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.activity_log import ActivityLog
from components.frame import frame
from components.organization_section import OrganizationSection
from components.subscription_section import SubscriptionSection
from components.user_list import UserActions, UserList
from pages.billing import subscription_actions
from pages.refresh import OneAtATime
from pages.session import PageSession, logout_token
from services import organizations
from services.auth import admins_to_ask
from services.container import Services
from services.errors import NotAuthenticated, PermissionDenied
from services.events import (
    billing_changed,
    browser_session_ended,
    organization_changed,
    session_ended,
    users_changed,
)
from services.users import UserChange


def register(services: Services) -> None:
    # Many admins opening the portal at once share one event loop: give slow builds time rather than a 500.
    @ui.page('/admin', response_timeout=30)
    async def admin_page(checkout_session: str | None = None) -> RedirectResponse | None:
        page = PageSession(services)
        try:
            admin = await page.admin()
        except NotAuthenticated:
            return RedirectResponse('/login')
        except PermissionDenied as refusal:
            member, admins = await admins_to_ask(page.session)
            with frame('Administration', test_mode=services.settings.offline_billing,
                       user_name=member.name if member else '', logout_token=logout_token(page.session)):  # fmt: skip
                greeting = f'{member.name}, you are a member of {member.organization.name}. ' if member else ''
                ui.label(f'{greeting}{refusal}').classes('text-h6 q-mt-xl').mark('refusal')
                if admins:  # who can change it: their names and addresses, to ask for admin rights or for help
                    ui.label('Ask one of its admins:').classes('q-mt-md')
                    for admin in admins:
                        ui.label(f'{admin.name} ({admin.email})').mark('admin-to-ask')
                if services.settings.product_url:
                    ui.link('Go to the product', services.settings.product_url).mark('product-link')
            return None
        portal = AdminPortal(services, page, admin)
        await portal.build()
        if checkout_session:
            await portal.returned_from_checkout(checkout_session)
        return None


class AdminPortal:
    """One open /admin page: its three sections, and how it follows other admins' changes and Stripe's."""

    def __init__(self, services: Services, page: PageSession, admin) -> None:
        self.services = services
        self.page = page
        self.admin = admin
        self.organization = admin.organization

    async def build(self) -> None:
        portal, quiet = self.page.portal, self.page.quiet
        self.billing_actions = subscription_actions(self.services.billing.catalog, portal)
        overview = await quiet.subscriptions.overview()
        with frame('Administration', test_mode=self.services.settings.offline_billing, user_name=self.admin.name,
                   logout_token=logout_token(self.page.session)):  # fmt: skip
            ui.label('Administration portal').classes('text-h4').props('role=heading aria-level=1')
            self.organization_section = OrganizationSection(
                self.organization, countries=organizations.countries(), on_save=self._save
            )
            self.subscription = SubscriptionSection(overview, self.billing_actions)
            self.user_list = UserList(self._user_actions(), current_user_id=self.admin.id)
            self.activity = ActivityLog(quiet.organizations.activity)
        await self.user_list.reload()
        self._follow_changes()

    async def returned_from_checkout(self, checkout_session: str) -> None:
        """Back from a token purchase or a new card: fulfil here too, in case Stripe's webhook is late or lost, and
        say what it did: "3,000 tokens added", "Card saved", "Subscription started"."""
        if message := await self.page.quiet.checkouts.completion_message(checkout_session_id=checkout_session):
            ui.notify(message, type='positive')

    def _user_actions(self) -> UserActions:
        users, quiet = self.page.portal.users, self.page.quiet.users
        return UserActions(
            load=lambda query, after: quiet.page(query=query, after=after),
            add=lambda form: users.add(form=form),
            edit=lambda user, form: users.edit(user_id=user.id, form=form),
            resend=lambda user: users.resend_password_email(user_id=user.id),
            delete=lambda user: users.delete(user_id=user.id),
            set_enabled=lambda user, enabled: users.set_enabled(user_id=user.id, enabled=enabled),
            add_seats=self.billing_actions.add_seats or (lambda: ui.navigate.to('/admin/subscriptions')),
        )

    async def _save(self, values: dict[str, str]):
        return await self.page.portal.organizations.update(organization_id=self.organization.id, values=values)

    async def refresh_users(self) -> None:
        """Users changed and the change did not say how (an older publisher): reload the list and the seats."""
        await self.user_list.reload()
        if self.user_list.result is not None:
            self.subscription.show_seats(self.user_list.result.seats_used)
        await self.activity.reload()

    async def show_user_changes(self) -> None:
        """Show the users' changes published since the last run, as they say, in their rows where they can be."""
        changes, self.user_changes = self.user_changes, []
        if changes:
            self.subscription.show_seats(changes[-1].seats_used)
            await self.user_list.apply(changes)
        await self.activity.reload()  # queries only while the Activity log is open

    async def refresh_billing(self) -> None:
        latest = await self.page.quiet.subscriptions.overview()
        if latest is not None:
            self.subscription.show(latest)
            self.user_list.show_seats(latest.seats_used, latest.seat_limit)  # a new plan or seat count: the rows
            await self.activity.reload()  # stay as they are

    def _follow_changes(self) -> None:
        """Keep this open page current: other admins' changes and webhooks show without a reload, and an ended
        session leaves at once. Callbacks run in the context of whoever published, so they touch only this client."""
        client, events, organization_id = ui.context.client, self.services.events, self.organization.id

        later = OneAtATime(client)
        self.user_changes: list[UserChange] = []

        def copy_organization(saved) -> None:
            with client:
                self.organization_section.show(saved)
            later(self.activity.reload)

        def leave(_=None) -> None:
            with client:
                ui.navigate.to('/login')

        def users_changed_here(change: UserChange | None) -> None:
            if change is None:
                later(self.refresh_users)
                return
            self.user_changes.append(change)  # shown in order, a burst of them in one run
            later(self.show_user_changes)

        unsubscribes = [
            events.subscribe(users_changed(organization_id), users_changed_here),
            events.subscribe(organization_changed(organization_id), copy_organization),
            events.subscribe(billing_changed(organization_id), lambda _: later(self.refresh_billing)),
            events.subscribe(session_ended(self.admin.id), leave),
            events.subscribe(browser_session_ended(self.page.session.digest), leave),
        ]
        client.on_delete(lambda: [unsubscribe() for unsubscribe in unsubscribes])

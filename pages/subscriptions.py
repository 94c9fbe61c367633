"""/admin/subscriptions: "Choose subscription", the first-time purchase, and the page Checkout returns to."""

from fastapi.responses import RedirectResponse
from nicegui import background_tasks, ui

from components.frame import frame
from components.plan_chooser import PlanChooser
from pages.session import PageSession, logout_token
from services.container import Services
from services.errors import NotAuthenticated, PermissionDenied, ServiceError, ValidationFailed
from services.events import billing_changed

POLL_SECONDS = 2.0
MAX_POLLS = 150  # five minutes of asking Stripe while the page waits for the webhook


def register(services: Services) -> None:
    @ui.page('/admin/subscriptions')
    async def choose_subscription(canceled: str | None = None) -> RedirectResponse | None:
        page = PageSession(services)
        admin, redirect = await _admin_or_redirect(page)
        if redirect:
            return redirect
        await ChoosePage(services, page, admin).build(canceled=bool(canceled))
        return None

    @ui.page('/admin/subscriptions/complete')
    async def checkout_complete(session_id: str = '') -> RedirectResponse | None:
        page = PageSession(services)
        admin, redirect = await _admin_or_redirect(page)
        if redirect:
            return redirect
        await ReturnPage(services, page, admin, session_id).build()
        return None


async def _admin_or_redirect(page: PageSession):
    try:
        return await page.admin(), None
    except NotAuthenticated:
        return None, RedirectResponse('/login')
    except PermissionDenied:
        return None, RedirectResponse('/admin')


def _frame(services: Services, page: PageSession, admin, title: str):
    return frame(title, test_mode=services.settings.offline_billing, user_name=admin.name,
                 logout_token=logout_token(page.session))  # fmt: skip


class ChoosePage:
    """ "Choose subscription": the plans, and the stepper that ends at Stripe's checkout."""

    def __init__(self, services: Services, page: PageSession, admin) -> None:
        self.services, self.page, self.admin = services, page, admin

    async def build(self, *, canceled: bool) -> None:
        overview = await self.page.direct.subscriptions.overview()
        with _frame(self.services, self.page, self.admin, 'Choose subscription'):
            with ui.row().classes('w-full items-center'):
                ui.link('← Back to administration', '/admin')
                ui.space()
                ui.link('How buying works', '/help#first-time-purchase')
            ui.label('Choose subscription').classes('text-h4').props('role=heading aria-level=1')
            if canceled:
                ui.label('Checkout was cancelled. Nothing was charged and nothing changed.').classes(
                    'bg-blue-1 q-pa-sm rounded-borders w-full'
                )
            if overview.subscribed:
                ui.label(
                    f'Your organization already subscribes to {overview.plan.name if overview.plan else "a plan"}. '
                    'Change it with "Edit subscription" in the Subscription section.'
                )
                return
            plans = self.services.billing.catalog.plans
            self.chooser = PlanChooser(plans, seats_in_use=overview.seats_used, on_checkout=self.checkout)

    async def checkout(self, plan_id: str, interval: str, seats: int) -> None:
        try:
            url = await self.page.portal.checkouts.start_subscription(plan_id=plan_id, interval=interval, seats=seats)
        except ValidationFailed as failure:
            self.chooser.show_errors(failure.errors)
            return
        if url:
            ui.navigate.to(url)


class ReturnPage:
    """Back from Checkout: waits for Stripe's confirmation, asking it too in case the webhook is late or lost."""

    def __init__(self, services: Services, page: PageSession, admin, session_id: str) -> None:
        self.services, self.page, self.admin, self.session_id = services, page, admin, session_id
        self.polls_left = MAX_POLLS

    async def build(self) -> None:
        with _frame(self.services, self.page, self.admin, 'Subscription'):
            ui.label('Thank you!').classes('text-h4').props('role=heading aria-level=1')
            self.status = ui.label('Waiting for Stripe to confirm your subscription…').classes('text-h6')
            self.spinner = ui.spinner(size='lg')
            self.details = ui.column()
            self.back = ui.link('Back to administration', '/admin').classes('text-h6')
            self.back.set_visibility(False)
        self.timer = ui.timer(POLL_SECONDS, self.check)
        # check() also runs when a webhook lands, outside this page's request: it uses the session of the page.
        unsubscribe = self.services.events.subscribe(
            billing_changed(self.admin.organization_id),
            lambda _: background_tasks.create(self.check(), name='checkout'),
        )
        ui.context.client.on_delete(unsubscribe)
        await self.check()

    async def check(self) -> None:
        self.polls_left -= 1
        try:
            state = await self.page.direct.checkouts.fulfill_for_caller(checkout_session_id=self.session_id)
            overview = await self.page.direct.subscriptions.overview()
        except ServiceError as error:
            if not self.status.is_deleted:
                self._stop(str(error))
            return
        if self.status.is_deleted:
            return  # the admin has left the page
        if state == 'expired':
            self._stop('This checkout has expired. Nothing was charged; choose a subscription again.')
        elif overview.subscribed:
            self._stop('Your subscription is Active.')
            self.details.clear()
            with self.details:
                ui.label(f'Plan: {overview.plan.name if overview.plan else overview.subscription.plan_id}')
                ui.label(f'Status: {overview.subscription.status.replace("_", " ").capitalize()}')
                ui.label(f'Seats: {overview.seats_used:,} of {overview.seat_limit:,} used')
        elif self.polls_left <= 0:
            # Stop asking Stripe; the webhook still updates this page the moment it lands.
            self.timer.cancel()
            self.status.text = 'Stripe has not confirmed your payment yet. This page updates as soon as it does.'

    def _stop(self, text: str) -> None:
        self.timer.cancel()
        self.spinner.set_visibility(False)
        self.status.text = text
        self.back.set_visibility(True)

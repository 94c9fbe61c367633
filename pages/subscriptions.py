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
    billing = services.billing
    test_mode = services.settings.offline_billing

    async def admin_or_redirect(page: PageSession):
        try:
            return await page.admin(), None
        except NotAuthenticated:
            return None, RedirectResponse('/login')
        except PermissionDenied:
            return None, RedirectResponse('/admin')

    @ui.page('/admin/subscriptions')
    async def choose_subscription(canceled: str | None = None) -> RedirectResponse | None:
        page = PageSession(services)
        admin, redirect = await admin_or_redirect(page)
        if redirect:
            return redirect
        overview = await billing.overview(session=page.session)
        token = logout_token(page.session)
        with frame('Choose subscription', test_mode=test_mode, user_name=admin.name, logout_token=token):
            with ui.row().classes('w-full items-center'):
                ui.link('← Back to administration', '/admin')
                ui.space()
                ui.link('How buying works', '/help#first-time-purchase')
            ui.label('Choose subscription').classes('text-h4')
            if canceled:
                ui.label('Checkout was cancelled. Nothing was charged and nothing changed.').classes(
                    'bg-blue-1 q-pa-sm rounded-borders w-full'
                )
            if overview.subscribed:
                ui.label(
                    f'Your organization already subscribes to {overview.plan.name if overview.plan else "a plan"}. '
                    'Change it with "Edit subscription" in the Subscription section.'
                )
                return None

            async def checkout(plan_id: str, interval: str, seats: int) -> None:
                try:
                    url = await page.act(
                        lambda session: billing.start_checkout(
                            session=session, plan_id=plan_id, interval=interval, seats=seats
                        )
                    )
                except ValidationFailed as failure:
                    chooser.show_errors(failure.errors)
                    return
                if url:
                    ui.navigate.to(url)

            chooser = PlanChooser(billing.catalog.plans, seats_in_use=overview.seats_used, on_checkout=checkout)
        return None

    @ui.page('/admin/subscriptions/complete')
    async def checkout_complete(session_id: str = '') -> RedirectResponse | None:
        page = PageSession(services)
        admin, redirect = await admin_or_redirect(page)
        if redirect:
            return redirect
        # check() also runs when a webhook lands, outside this page's request: it uses the session of the page.
        page_session = page.session
        with frame('Subscription', test_mode=test_mode, user_name=admin.name, logout_token=logout_token(page_session)):
            ui.label('Thank you!').classes('text-h4')
            status = ui.label('Waiting for Stripe to confirm your subscription…').classes('text-h6')
            spinner = ui.spinner(size='lg')
            details = ui.column()
            back = ui.link('Back to administration', '/admin').classes('text-h6')
            back.set_visibility(False)

        polls = {'left': MAX_POLLS}

        def stop(text: str) -> None:
            timer.cancel()
            spinner.set_visibility(False)
            status.text = text
            back.set_visibility(True)

        async def check() -> None:
            # The return page fulfils too, so the subscription shows even if Stripe's webhook is late or lost.
            polls['left'] -= 1
            try:
                state = await billing.fulfill_checkout(session_id, organization_id=admin.organization_id)
                overview = await billing.overview(session=page_session)
            except ServiceError as error:
                if not status.is_deleted:
                    stop(str(error))
                return
            if status.is_deleted:
                return  # the admin has left the page
            if state == 'expired':
                stop('This checkout has expired. Nothing was charged; choose a subscription again.')
            elif overview.subscribed and overview.subscription:
                timer.cancel()
                spinner.set_visibility(False)
                status.text = 'Your subscription is Active.'
                details.clear()
                with details:
                    ui.label(f'Plan: {overview.plan.name if overview.plan else overview.subscription.plan_id}')
                    ui.label(f'Status: {overview.subscription.status.replace("_", " ").capitalize()}')
                    ui.label(f'Seats: {overview.seats_used} of {overview.seat_limit} used')
                back.set_visibility(True)
            elif polls['left'] <= 0:
                # Stop asking Stripe; the webhook still updates this page the moment it lands.
                timer.cancel()
                status.text = 'Stripe has not confirmed your payment yet. This page updates as soon as it does.'

        timer = ui.timer(POLL_SECONDS, check)
        unsubscribe = services.events.subscribe(
            billing_changed(admin.organization_id), lambda _: background_tasks.create(check(), name='checkout')
        )
        ui.context.client.on_delete(unsubscribe)
        await check()
        return None

"""/admin: the administration portal, for enabled admins only."""

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.frame import frame
from components.organization_section import OrganizationSection
from pages.session import current_session, log_out, run_action
from services import organizations
from services.auth import require_admin
from services.container import Services
from services.errors import NotAuthenticated, PermissionDenied


def register(services: Services) -> None:
    test_mode = services.settings.offline_billing

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

        async def save_organization(values: dict[str, str]):
            return await run_action(
                lambda: organizations.update_organization(
                    session=current_session(), organization_id=organization.id, values=values
                )
            )

        with frame('Administration', test_mode=test_mode, user_name=admin.name, on_logout=log_out):
            ui.label('Administration portal').classes('text-h4')
            OrganizationSection(organization, countries=organizations.countries(), on_save=save_organization)
        return None

"""/setup: the first run, while no organization exists yet."""

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.forms import show_errors
from components.frame import frame, narrow_card
from pages.session import begin_login
from services.container import Services
from services.errors import PermissionDenied, ValidationFailed
from services.organizations import NewAdmin, create_first_organization, organization_exists


def register(services: Services) -> None:
    @ui.page('/setup')
    async def setup_page() -> RedirectResponse | None:
        if await organization_exists():
            return RedirectResponse('/login')
        with frame('Set up', test_mode=services.settings.offline_billing), narrow_card('Set up Portico'):
            ui.label('Create your organization and its first administrator.').classes('text-grey-8')
            fields = {
                'organization_name': ui.input('Organization name').props('autofocus'),
                'name': ui.input('Your name'),
                'email': ui.input('Email').props('type=email autocomplete=username'),
                'password': ui.input('Password', password=True).props('autocomplete=new-password'),
            }
            for element in fields.values():
                element.classes('w-full')

            async def create() -> None:
                new = NewAdmin(**{name: element.value for name, element in fields.items()})
                try:
                    admin = await create_first_organization(new)
                except ValidationFailed as failure:
                    show_errors(fields, failure)
                    return
                except PermissionDenied as error:
                    ui.notify(str(error), type='negative')
                    ui.navigate.to('/login')
                    return
                show_errors(fields, None)
                await begin_login(services, admin)

            ui.button('Create organization', on_click=create).classes('w-full')
        return None

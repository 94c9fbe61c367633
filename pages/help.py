"""/help: Portico's administrator guide, rendered from docs/admin-guide.md."""

from pathlib import Path

from nicegui import ui

from components.frame import frame
from pages.session import current_session, logout_token
from services import auth
from services.container import Services
from services.errors import NotAuthenticated

GUIDE = Path(__file__).resolve().parent.parent / 'docs' / 'admin-guide.md'


def register(services: Services) -> None:
    @ui.page('/help')
    async def help_page() -> None:
        session = current_session()
        try:  # a logged-in reader keeps the header's name and "Log out", as on every other page
            reader = await auth.load_user(session)
        except NotAuthenticated:
            reader = None
        with frame('Help', test_mode=services.settings.offline_billing, user_name=reader.name if reader else None,
                   logout_token=logout_token(session) if reader else ''):  # fmt: skip
            ui.link('← Back to administration', '/admin')
            ui.markdown(GUIDE.read_text(encoding='utf-8'), extras=['header-ids', 'tables']).classes('w-full')

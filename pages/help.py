"""/help: Portico's administrator guide, rendered from docs/admin-guide.md."""

from pathlib import Path

from nicegui import ui

from components.frame import frame
from services.container import Services

GUIDE = Path(__file__).resolve().parent.parent / 'docs' / 'admin-guide.md'


def register(services: Services) -> None:
    @ui.page('/help')
    def help_page() -> None:
        with frame('Help', test_mode=services.settings.offline_billing):
            ui.link('← Back to administration', '/admin')
            ui.markdown(GUIDE.read_text(encoding='utf-8'), extras=['header-ids', 'tables']).classes('w-full')

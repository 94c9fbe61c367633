"""The shared page frame: a header with the product name, the signed-in admin and "Log out"."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement

PRIMARY, POSITIVE = '#3949ab', '#2e7d32'  # set for every page by pages.register (app.colors)
PAGE_STYLE = 'max-width: 64rem; margin: 0 auto'
KEYBOARD = (Path(__file__).parent / 'keyboard.js').read_text()  # focus back from dialogs; arrow keys in menus
# What every page shares. WCAG AA contrast (4.5:1) where Quasar's and NiceGUI's defaults fall short: links (#3b82f6
# is 3.67:1 on white), the stepper's steps not reached yet (2.67:1), "positive" (#21ba45 under white is 2.56:1).
# Portico runs without Tailwind (`ui.run(tailwind=False)`): its in-browser compiler took 11-19 % of /admin's load.
# These are the utility classes the pages use that Tailwind made, in its sizes and layer, and a reset in the base
# layer like the one it brought, so that every page looks as it did. A Tailwind class not listed here does nothing.
UTILITIES_CSS = """
@layer base {
  *, ::before, ::after { box-sizing: border-box; margin: 0; padding: 0; border: 0 solid; }
  h1, h2, h3, h4, h5, h6 { font-size: inherit; font-weight: inherit; }
  a { color: inherit; text-decoration: inherit; }
  ol, ul, menu { list-style: none; }
  img, svg, video, canvas { display: block; vertical-align: middle; }
  button, input, select, textarea { font: inherit; color: inherit; background-color: transparent; }
}
@layer utilities {
  .w-full { width: 100%; } .w-72 { width: 18rem; } .w-48 { width: 12rem; } .min-w-0 { min-width: 0; }
  .gap-0 { gap: 0; } .gap-1 { gap: 0.25rem; } .gap-2 { gap: 0.5rem; } .gap-4 { gap: 1rem; }
  .gap-x-2 { column-gap: 0.5rem; } .gap-x-4 { column-gap: 1rem; } .gap-x-8 { column-gap: 2rem; }
  .gap-y-0 { row-gap: 0; } .gap-y-1 { row-gap: 0.25rem; } .gap-y-2 { row-gap: 0.5rem; }
  .break-words { overflow-wrap: break-word; } .break-all { word-break: break-all; }
  .no-underline { text-decoration-line: none; }
  /* Quasar's classes of these names sit in a layer below NiceGUI's rows and columns; Tailwind's beat them. */
  .items-center { align-items: center; } .items-baseline { align-items: baseline; }
  .items-start { align-items: flex-start; } .justify-end { justify-content: flex-end; }
  .self-center { align-self: center; } .self-end { align-self: flex-end; }
  .text-right { text-align: right; } .overflow-auto { overflow: auto; } .bg-white { background-color: #fff; }
}
"""
PAGE_CSS = """
a.nicegui-link { color: #1d4ed8; }
.q-stepper__tab:not(.q-stepper__tab--active):not(.q-stepper__tab--done) { color: #616161; }
@media (hover: none) { .q-tooltip.hover-only { display: none !important; } }  /* a touch screen */
@media (max-width: 599px) {  /* a phone: the sections' captions take less room than their values */
  .field-grid { grid-template-columns: 6.5rem minmax(0, 1fr) !important; align-items: baseline !important; }
  .field-grid > * { overflow-wrap: anywhere; }
}
"""
TEST_MODE_NOTE = (
    'Billing runs on the built-in Stripe emulator: no money moves and no card is charged. '
    'Use it for trials and demos, not for real customers.'
)


class Anchor(TextElement):
    """A plain `<a href>` to one of Portico's own pages. (`ui.link` is a Vue component that computes its address a
    tick after mounting, for apps under a path prefix; Portico has none.)"""

    def __init__(self, text: str, href: str) -> None:
        super().__init__(tag='a', text=text)
        self._props['href'] = href
        self.classes('nicegui-link')


@contextmanager
def frame(
    title: str, *, user_name: str | None = None, logout_token: str = '', test_mode: bool = False
) -> Iterator[ui.column]:
    """`logout_token` (pages.session.logout_token) goes with the "Log out" form, which POSTs to /logout."""
    ui.page_title(f'{title} · Portico')
    ui.add_css(UTILITIES_CSS + PAGE_CSS)
    ui.add_body_html(f'<script>{KEYBOARD}</script>')
    with ui.header().classes('items-center bg-white text-grey-9 shadow-1 q-px-lg'):
        Anchor('Portico', '/admin').classes('text-h6 text-weight-bold text-primary no-underline')
        if test_mode:
            with ui.badge('Test mode · offline billing', color='deep-orange-10').props(
                'aria-label="Test mode, offline billing" tabindex=0'
            ):
                ui.tooltip(TEST_MODE_NOTE).props('max-width=20rem')
        ui.space()
        Anchor('Help', '/help').classes('text-grey-8')
        if user_name is not None:
            ui.label(user_name).classes('text-grey-8')
            with ui.element('form').props('method=post action=/logout').classes('q-ma-none'):
                ui.element('input').props(f'type=hidden name=csrf value={logout_token}')
                ui.button('Log out').props('flat no-caps type=submit')
    with ui.column().classes('w-full q-pa-md q-gutter-y-md').style(PAGE_STYLE) as column:
        yield column


@contextmanager
def narrow_card(title: str) -> Iterator[ui.card]:
    """A centred card for the short forms: login, setup, password links."""
    with ui.card().classes('q-pa-lg q-mt-xl self-center').style('width: 26rem; max-width: 95vw') as card:
        ui.label(title).classes('text-h5').props('role=heading aria-level=1')
        yield card

"""The "Organization" section: the organization's details, shown from its model, and the edit form."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.forms import show_errors
from db.models import Organization
from services.errors import ValidationFailed
from services.organizations import EDITABLE_FIELDS

SaveOrganization = Callable[[dict[str, str]], Awaitable[Organization | None]]

# The form's labels; the Activity log names the fields it reports with them too.
FIELD_LABELS = {
    'name': 'Organization name',
    'billing_email': 'Billing email',
    'receipt_emails': 'Receipt emails (optional)',
    'address_line1': 'Address line 1',
    'address_line2': 'Address line 2',
    'postal_code': 'Postal code',
    'city': 'City',
    'country': 'Country',
    'tax_id': 'VAT/tax ID',
}


class OrganizationSection(ui.card):
    def __init__(self, organization: Organization, *, countries: dict[str, str], on_save: SaveOrganization) -> None:
        super().__init__()
        self.organization = organization
        self.countries = countries
        self.on_save = on_save
        self.texts: list[tuple[ui.label, Callable[[Organization], str]]] = []  # each value, and how it reads
        self.classes('w-full').props('aria-label="Organization"')
        with self:
            with ui.row().classes('w-full items-center'):
                ui.label('Organization').classes('text-h6').props('role=heading aria-level=2')
                ui.space()
                edit = ui.button(icon='edit', on_click=self.open_editor).mark('edit-organization')
                with edit.props('flat round aria-label="Edit organization"'):
                    ui.tooltip('Edit organization')
            with ui.grid(columns='10rem 1fr').classes('field-grid gap-y-1'):
                self._row('Name', lambda o: o.name)
                self._row('Billing email', lambda o: o.billing_email or '—')
                self._row('Receipt emails', lambda o: o.receipt_emails or '—')
                self._row('Address', self._address)
                self._row('Country', lambda o: countries.get(o.country, '—'))
                self._row('VAT/tax ID', lambda o: o.tax_id or '—')

    def _row(self, caption: str, text: Callable[[Organization], str]) -> None:
        ui.label(caption).classes('text-grey-7')
        self.texts.append((ui.label(text(self.organization)).classes('break-all'), text))

    def show(self, saved: Organization) -> None:
        """Show the organization as saved (here or by another admin): its changed values alone, without rebuilding
        the section. (Not a binding to the model: NiceGUI polls those ten times a second on every open page.)"""
        for name in EDITABLE_FIELDS:
            setattr(self.organization, name, getattr(saved, name))
        for label, text in self.texts:
            label.text = text(self.organization)

    @staticmethod
    def _address(organization: Organization) -> str:
        city = ' '.join(part for part in (organization.postal_code, organization.city) if part)
        lines = [organization.address_line1, organization.address_line2, city]
        return ', '.join(line for line in lines if line) or '—'

    def open_editor(self) -> None:
        with (
            ui.dialog().props('aria-label="Edit organization"') as dialog,
            ui.card().style('width: 32rem; max-width: 95vw'),
        ):
            ui.label('Edit organization').classes('text-h6')
            fields: dict[str, ui.element] = {}
            for name in EDITABLE_FIELDS:
                value = getattr(self.organization, name) or ''
                if name == 'country':
                    fields[name] = ui.select(
                        self.countries, label=FIELD_LABELS[name], value=value or None, with_input=True, clearable=True
                    )
                else:
                    fields[name] = ui.input(FIELD_LABELS[name], value=value)
                if name == 'receipt_emails':
                    fields[name].props('hint="Up to 3, separated by commas. They get every receipt too."')
                fields[name].classes('w-full').mark(f'organization-{name}')

            async def save() -> None:
                values = {name: element.value or '' for name, element in fields.items()}
                try:
                    saved = await self.on_save(values)
                except ValidationFailed as failure:
                    show_errors(fields, failure)
                    return
                if saved is not None:
                    self.show(saved)
                    ui.notify('Organization saved.', type='positive')
                    dialog.close()

            with ui.row().classes('w-full justify-end'):
                ui.button('Cancel', on_click=dialog.close).props('flat')
                ui.button('Save', on_click=save)
        dialog.open()

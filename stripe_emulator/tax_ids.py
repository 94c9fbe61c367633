"""Customer tax IDs as Stripe checks them: the type's format, the country a tax ID belongs to, and its label on an
invoice ("VAT: DE123456789").

The formats follow Stripe's table of supported types, each of whose examples passes. A type without a format here
takes any value.
"""

import re
import typing
from functools import cache

from .errors import invalid
from .params import get_str, sdk_params

# EU VAT numbers by their prefix (Greece's is EL, Northern Ireland's XI), then the national part.
_EU_VAT = {
    'AT': r'U\d{8}', 'BE': r'[01]\d{9}', 'BG': r'\d{9,10}', 'CY': r'\d{8}[A-Z]', 'CZ': r'\d{8,10}', 'DE': r'\d{9}',
    'DK': r'\d{8}', 'EE': r'\d{9}', 'EL': r'\d{9}', 'ES': r'[A-Z0-9]\d{7}[A-Z0-9]', 'FI': r'\d{8}',
    'FR': r'[A-Z0-9]{2}\d{9}', 'HR': r'\d{11}', 'HU': r'\d{8}', 'IE': r'\d{7}[A-Z]{1,2}|\d[A-Z+*]\d{5}[A-Z]',
    'IT': r'\d{11}', 'LT': r'\d{9}|\d{12}', 'LU': r'\d{8}', 'LV': r'\d{11}', 'MT': r'\d{8}', 'NL': r'\d{9}B\d{2}',
    'PL': r'\d{10}', 'PT': r'\d{9}', 'RO': r'\d{2,10}', 'SE': r'\d{12}', 'SI': r'\d{8}', 'SK': r'\d{10}',
    'XI': r'\d{9}|\d{12}|GD\d{3}|HA\d{3}',
}  # fmt: skip
_FORMATS = {
    'eu_vat': '|'.join(f'{prefix}(?:{national})' for prefix, national in _EU_VAT.items()),
    'gb_vat': r'GB(?:\d{9}|\d{12}|GD\d{3}|HA\d{3})',
    'ch_vat': r'CHE-\d{3}\.\d{3}\.\d{3} (?:MWST|TVA|IVA)',
    'no_vat': r'\d{9}MVA',
    'is_vat': r'\d{5,6}',
    'li_vat': r'\d{5}',
    'au_abn': r'\d{11}',
    'nz_gst': r'\d{8,9}',
    'us_ein': r'\d{2}-\d{7}',
    'za_vat': r'4\d{9}',
    'in_gst': r'\d{2}[A-Z]{5}\d{4}[A-Z][A-Z0-9]Z[A-Z0-9]',
    'ae_trn': r'\d{15}',
    'sa_vat': r'\d{15}',
}
_COUNTRY_OF_PREFIX = {'EL': 'GR', 'XI': 'GB'}


def read(data: dict, *, param: str | None = None) -> tuple[str, str]:
    """The type and value of a tax ID to create (`data` is `param`'s hash, e.g. tax_id_data[0], or the request's), or
    Stripe's error: an unknown type, or a value that does not fit it (`tax_id_invalid`)."""
    tax_type = get_str(data, 'type', required=True, choices=_types())
    value = get_str(data, 'value', required=True)
    if tax_type is None or value is None:  # required: never None, but say so to the type checker
        raise invalid('Missing tax id type or value.', param=_name(param, 'type'))
    pattern = _FORMATS.get(tax_type)
    if pattern is not None and not re.fullmatch(pattern, value):
        raise invalid(f'Invalid value for {tax_type}.', param=_name(param, 'value'), code='tax_id_invalid')
    return tax_type, value


def country(tax_type: str, value: str) -> str:
    if tax_type == 'eu_vat':
        return _COUNTRY_OF_PREFIX.get(value[:2], value[:2])
    return tax_type[:2].upper()


def printed(tax_id: dict) -> str:
    """An invoice's line for one of its `customer_tax_ids`: 'VAT: DE123456789', 'ABN: 12345678912', 'GST HST: …'."""
    label = tax_id['type'].partition('_')[2].replace('_', ' ').upper() or tax_id['type'].upper()
    return f'{label}: {tax_id["value"]}'


def _name(param: str | None, key: str) -> str:
    return f'{param}[{key}]' if param else key


@cache
def _types() -> tuple[str, ...] | None:
    """The types the SDK's params name for this API version (None without the SDK: any type then)."""
    spec = sdk_params('stripe.params', 'CustomerTaxIdCreateParams')
    if spec is None:
        return None
    literals = [arg for arg in typing.get_args(typing.get_type_hints(spec)['type']) if typing.get_origin(arg)]
    return tuple(typing.get_args(literals[0])) if literals else None

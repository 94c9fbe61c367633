"""The organization's VAT/tax ID as Stripe takes it: its type follows the country, and its value is checked and
spelled the way Stripe expects ('de 123 456 789' is saved as 'DE123456789', 'CHE123456789' as 'CHE-123.456.789 MWST').

A country without a type here (Canada and Japan have several, for instance) keeps the value as typed, in the Stripe
customer's metadata only: Portico cannot tell which type it is, so its invoices do not print it.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import pycountry

MAX_LENGTH = 32  # the column's
_CHARACTERS = re.compile(r'[A-Z0-9 .\-]+')
_SEPARATORS = re.compile(r'[ .\-]')
_NEEDS_THE = {'AE', 'GB', 'NL', 'US'}  # "for the Netherlands"


@dataclass(frozen=True)
class TaxId:
    type: str
    value: str


@dataclass(frozen=True)
class _Format:
    type: str
    name: str  # with its article, as the error message says it
    pattern: str  # on the value in capitals, without spaces, dots and dashes
    spell: Callable[[re.Match], str]
    example: str


def _vat(prefix: str, national: str, example: str) -> _Format:
    """An EU VAT number: the prefix may be left out, and is put back."""
    return _Format('eu_vat', 'a VAT number', f'(?:{prefix})?({national})', lambda m: prefix + m[1], example)


_UK = r'\d{9}|\d{12}|GD\d{3}|HA\d{3}'
# The first format of a country is the one its error message describes.
_FORMATS: dict[str, tuple[_Format, ...]] = {
    'AT': (_vat('AT', r'U\d{8}', 'ATU12345678'),),
    'BE': (_vat('BE', r'[01]\d{9}', 'BE0123456789'),),
    'BG': (_vat('BG', r'\d{9,10}', 'BG0123456789'),),
    'CY': (_vat('CY', r'\d{8}[A-Z]', 'CY12345678Z'),),
    'CZ': (_vat('CZ', r'\d{8,10}', 'CZ1234567890'),),
    'DE': (_vat('DE', r'\d{9}', 'DE123456789'),),
    'DK': (_vat('DK', r'\d{8}', 'DK12345678'),),
    'EE': (_vat('EE', r'\d{9}', 'EE123456789'),),
    'ES': (_vat('ES', r'[A-Z0-9]\d{7}[A-Z0-9]', 'ESA1234567Z'),),
    'FI': (_vat('FI', r'\d{8}', 'FI12345678'),),
    'FR': (_vat('FR', r'[A-Z0-9]{2}\d{9}', 'FRAB123456789'),),
    'GR': (_vat('EL', r'\d{9}', 'EL123456789'),),
    'HR': (_vat('HR', r'\d{11}', 'HR12345678912'),),
    'HU': (_vat('HU', r'\d{8}', 'HU12345678'),),
    'IE': (_vat('IE', r'\d{7}[A-Z]{1,2}|\d[A-Z+*]\d{5}[A-Z]', 'IE1234567AB'),),
    'IT': (_vat('IT', r'\d{11}', 'IT12345678912'),),
    'LT': (_vat('LT', r'\d{9}|\d{12}', 'LT123456789123'),),
    'LU': (_vat('LU', r'\d{8}', 'LU12345678'),),
    'LV': (_vat('LV', r'\d{11}', 'LV12345678912'),),
    'MT': (_vat('MT', r'\d{8}', 'MT12345678'),),
    'NL': (_vat('NL', r'\d{9}B\d{2}', 'NL123456789B01'),),
    'PL': (_vat('PL', r'\d{10}', 'PL1234567890'),),
    'PT': (_vat('PT', r'\d{9}', 'PT123456789'),),
    'RO': (_vat('RO', r'\d{2,10}', 'RO1234567891'),),
    'SE': (_vat('SE', r'\d{12}', 'SE123456789123'),),
    'SI': (_vat('SI', r'\d{8}', 'SI12345678'),),
    'SK': (_vat('SK', r'\d{10}', 'SK1234567891'),),
    'GB': (
        _Format('gb_vat', 'a VAT number', f'(?:GB)?({_UK})', lambda m: f'GB{m[1]}', 'GB123456789'),
        _Format('eu_vat', 'a VAT number', f'XI({_UK})', lambda m: f'XI{m[1]}', 'XI123456789'),  # Northern Ireland
    ),
    'CH': (
        _Format(
            'ch_vat',
            'a VAT number',
            r'(?:CHE)?(\d{3})(\d{3})(\d{3})(MWST|TVA|IVA)?',
            lambda m: f'CHE-{m[1]}.{m[2]}.{m[3]} {m[4] or "MWST"}',
            'CHE-123.456.789 MWST',
        ),
    ),  # fmt: skip
    'NO': (_Format('no_vat', 'a VAT number', r'(?:NO)?(\d{9})(?:MVA)?', lambda m: f'{m[1]}MVA', '123456789MVA'),),
    'IS': (_Format('is_vat', 'a VAT number', r'(?:IS)?(\d{5,6})', lambda m: m[1], '123456'),),
    'LI': (_Format('li_vat', 'a VAT number', r'(?:LI)?(\d{5})', lambda m: m[1], '12345'),),
    'AU': (_Format('au_abn', 'an ABN', r'(\d{11})', lambda m: m[1], '12345678912'),),
    'NZ': (_Format('nz_gst', 'a GST number', r'(?:NZ)?(\d{8,9})', lambda m: m[1], '123456789'),),
    'US': (_Format('us_ein', 'an EIN', r'(\d{2})(\d{7})', lambda m: f'{m[1]}-{m[2]}', '12-3456789'),),
    'ZA': (_Format('za_vat', 'a VAT number', r'(?:ZA)?(4\d{9})', lambda m: m[1], '4123456789'),),
    'IN': (
        _Format('in_gst', 'a GSTIN', r'(\d{2}[A-Z]{5}\d{4}[A-Z][A-Z0-9]Z[A-Z0-9])', lambda m: m[1], '12ABCDE3456FGZH'),
    ),  # fmt: skip
    'AE': (_Format('ae_trn', 'a TRN', r'(\d{15})', lambda m: m[1], '123456789012345'),),
    'SA': (_Format('sa_vat', 'a VAT number', r'(\d{15})', lambda m: m[1], '123456789012345'),),
}


def clean_tax_id(value: str, *, country: str, errors: dict[str, str], field: str = 'tax_id') -> str:
    """The VAT/tax ID as it is saved (spelled as Stripe expects where the country has a type), or record at `field`
    why it does not fit; a VAT/tax ID without a country asks for the country."""
    value = ' '.join((value or '').upper().split())
    if not value:
        return ''
    if len(value) > MAX_LENGTH or not _CHARACTERS.fullmatch(value):
        errors[field] = f'VAT/tax ID: at most {MAX_LENGTH} letters, digits, spaces, dots and dashes.'
        return value
    if not country:
        errors.setdefault('country', 'Choose the country of the VAT/tax ID.')
        return value
    formats = _FORMATS.get(country)
    if formats is None:
        return value
    spelled = _spelled(formats, value)
    if spelled is None:
        expected = formats[0]
        errors[field] = f'VAT/tax ID: enter {expected.name} for {_name(country)}, such as {expected.example}.'
        return value
    return spelled.value


def stripe_tax_id(*, country: str, value: str) -> TaxId | None:
    """The Stripe tax ID of a saved VAT/tax ID; None without one, or for a country without a type here. A value saved
    before these checks that does not fit goes as it is, and Stripe decides."""
    formats = _FORMATS.get(country)
    if not value or formats is None:
        return None
    return _spelled(formats, value) or TaxId(formats[0].type, value)


def _spelled(formats: tuple[_Format, ...], value: str) -> TaxId | None:
    compact = _SEPARATORS.sub('', value)
    for candidate in formats:
        if match := re.fullmatch(candidate.pattern, compact):
            return TaxId(candidate.type, candidate.spell(match))
    return None


def _name(country: str) -> str:
    found = pycountry.countries.get(alpha_2=country)
    name = getattr(found, 'common_name', None) or getattr(found, 'name', country)
    return f'the {name}' if country in _NEEDS_THE else name

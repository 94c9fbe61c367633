"""The card fields of the hosted pages, and checking what was typed into them."""

import datetime
import re
from dataclasses import dataclass, field

from ..cards import NON_TEST_CARD, brand_of, is_digits, luhn_valid, minimum_length, test_card
from ..checkout_flow import CardEntry
from .layout import esc
from .layout import field as input_field

_EXPIRY = re.compile(r'^\s*([0-9]{1,2})\s*/\s*([0-9]{2}|[0-9]{4})\s*$')

# Formats the card number in groups of four and the expiry as "MM / YY" while typing; the server accepts both.
_SCRIPT = """<script>
document.querySelectorAll('[data-format]').forEach(function (input) {
  input.addEventListener('input', function () {
    var digits = input.value.replace(/\\D/g, '');
    if (input.dataset.format === 'card') {
      input.value = digits.slice(0, 19).replace(/(\\d{4})(?=\\d)/g, '$1 ');
    } else if (digits.length > 2 || input.value.indexOf('/') > -1) {
      input.value = digits.slice(0, 2) + ' / ' + digits.slice(2, 4);
    }
  });
});
</script>"""


@dataclass
class CardForm:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general_error: str | None = None


def read(values: dict[str, str], *, now: int) -> tuple[CardEntry | None, dict[str, str]]:
    """Validate the typed card details; returns the entry, or the errors by field name."""
    errors: dict[str, str] = {}
    number = re.sub(r'[\s-]', '', values.get('card_number', ''))
    brand = brand_of(number) if is_digits(number) else None
    if not number:
        errors['card_number'] = 'Your card number is incomplete.'
    elif brand is None or len(number) > 19:
        errors['card_number'] = 'Your card number is invalid.'
    elif len(number) < minimum_length(brand):
        errors['card_number'] = 'Your card number is incomplete.'
    elif not luhn_valid(number):
        errors['card_number'] = 'Your card number is invalid.'
    elif test_card(number) is None:  # like Stripe's test mode: real cards are refused
        errors['card_number'] = NON_TEST_CARD
    month = year = 0
    match = _EXPIRY.match(values.get('expiry', ''))
    if not match:
        errors['expiry'] = "Your card's expiration date is incomplete."
    else:
        month, year = int(match.group(1)), int(match.group(2))
        year = year + 2000 if year < 100 else year
        today = datetime.datetime.fromtimestamp(now, datetime.UTC)
        if not 1 <= month <= 12:
            errors['expiry'] = "Your card's expiration date is invalid."
        elif (year, month) < (today.year, today.month):
            errors['expiry'] = "Your card's expiration date is in the past."
    cvc = values.get('cvc', '').strip()
    expected = 4 if brand == 'amex' else 3
    if not (is_digits(cvc) and len(cvc) == expected):
        errors['cvc'] = "Your card's security code is incomplete."
    name = values.get('name', '').strip()
    if not name:
        errors['name'] = 'Enter the cardholder name.'
    card = test_card(number)
    if errors or card is None:
        return None, errors
    return CardEntry(card, month, year, name), {}


def render(form: CardForm) -> str:
    values, errors = form.values, form.errors

    def card_field(name: str, label: str, placeholder: str, extra: str) -> str:
        return input_field(
            name, label, value=values.get(name, ''), error=errors.get(name), placeholder=placeholder, extra=extra
        )

    alert = f'<div class="alert" role="alert">{esc(form.general_error)}</div>' if form.general_error else ''
    number = card_field('card_number', 'Card number', '1234 1234 1234 1234', _NUMBER_ATTRS)
    expiry = card_field(
        'expiry', 'Expiration', 'MM / YY', 'autocomplete="cc-exp" inputmode="numeric" data-format="expiry"'
    )
    cvc = card_field('cvc', 'CVC', 'CVC', 'autocomplete="cc-csc" inputmode="numeric" maxlength="4"')
    name = card_field('name', 'Cardholder name', 'Full name on card', 'autocomplete="cc-name"')
    return f'{alert}{number}<div class="row"><div>{expiry}</div><div>{cvc}</div></div>{name}{_SCRIPT}'


_NUMBER_ATTRS = 'autocomplete="cc-number" inputmode="numeric" data-format="card"'

TEST_CARDS_HINT = (
    '<p class="test-cards">Test mode: only test cards are accepted. Use 4242 4242 4242 4242 with any future date and '
    'any CVC; 4000 0000 0000 0002 is declined, 4000 0000 0000 9995 has insufficient funds.</p>'
)

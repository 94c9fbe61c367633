"""Stripe's test cards and tokens, and what happens when they are attached or charged."""

import hashlib
from dataclasses import dataclass

from .errors import StripeError, card_error

# decline_code -> (error code, message), as Stripe reports them.
DECLINES = {
    'generic_decline': ('card_declined', 'Your card was declined.'),
    'insufficient_funds': ('card_declined', 'Your card has insufficient funds.'),
    'lost_card': ('card_declined', 'Your card was declined.'),
    'stolen_card': ('card_declined', 'Your card was declined.'),
    'expired_card': ('expired_card', 'Your card has expired.'),
    'incorrect_cvc': ('incorrect_cvc', "Your card's security code is incorrect."),
    'processing_error': (
        'processing_error',
        'An error occurred while processing your card. Try again in a little bit.',
    ),
}


@dataclass(frozen=True)
class Card:
    number: str
    brand: str
    funding: str = 'credit'
    country: str = 'US'
    # Declined whenever used: attaching it to a customer fails too, as on Stripe.
    decline: str | None = None
    # Attaches fine, but every charge fails (Stripe's 4000 0000 0000 0341).
    charge_decline: str | None = None

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f'emulator-card:{self.number}'.encode()).hexdigest()[:16]


_SPECIAL = {
    '4000056655665556': Card('4000056655665556', 'visa', funding='debit'),
    '5200828282828210': Card('5200828282828210', 'mastercard', funding='debit'),
    '4000000000000002': Card('4000000000000002', 'visa', decline='generic_decline'),
    '4000000000009995': Card('4000000000009995', 'visa', decline='insufficient_funds'),
    '4000000000009987': Card('4000000000009987', 'visa', decline='lost_card'),
    '4000000000009979': Card('4000000000009979', 'visa', decline='stolen_card'),
    '4000000000000069': Card('4000000000000069', 'visa', decline='expired_card'),
    '4000000000000127': Card('4000000000000127', 'visa', decline='incorrect_cvc'),
    '4000000000000119': Card('4000000000000119', 'visa', decline='processing_error'),
    '4000000000000341': Card('4000000000000341', 'visa', charge_decline='generic_decline'),
    '4000000760000002': Card('4000000760000002', 'visa', country='BR'),
    '4000002500000003': Card('4000002500000003', 'visa', country='FR'),
    '4000002760000016': Card('4000002760000016', 'visa', country='DE'),
}

TOKENS = {
    'tok_visa': '4242424242424242',
    'tok_visa_debit': '4000056655665556',
    'tok_mastercard': '5555555555554444',
    'tok_mastercard_debit': '5200828282828210',
    'tok_amex': '378282246310005',
    'tok_discover': '6011111111111117',
    'tok_chargeDeclined': '4000000000000002',
    'tok_chargeDeclinedInsufficientFunds': '4000000000009995',
    'tok_chargeDeclinedLostCard': '4000000000009987',
    'tok_chargeDeclinedStolenCard': '4000000000009979',
    'tok_chargeDeclinedExpiredCard': '4000000000000069',
    'tok_chargeDeclinedIncorrectCvc': '4000000000000127',
    'tok_chargeDeclinedProcessingError': '4000000000000119',
    'tok_chargeCustomerFail': '4000000000000341',
    'tok_de': '4000002760000016',
    'tok_fr': '4000002500000003',
}


def card_for_number(number: str) -> Card:
    return _SPECIAL.get(number) or Card(number, brand_of(number))


def brand_of(number: str) -> str:
    if number.startswith('4'):
        return 'visa'
    if number[:2] in ('34', '37'):
        return 'amex'
    if 51 <= int(number[:2] or 0) <= 55 or 2221 <= int(number[:4] or 0) <= 2720:
        return 'mastercard'
    if number.startswith(('6011', '65', '644', '645', '646', '647', '648', '649')):
        return 'discover'
    if number.startswith(('3528', '3529', '353', '354', '355', '356', '357', '358')):
        return 'jcb'
    if number.startswith(('36', '38', '300', '301', '302', '303', '304', '305')):
        return 'diners'
    if number.startswith('62'):
        return 'unionpay'
    return 'unknown'


def luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def decline_error(decline_code: str) -> StripeError:
    code, message = DECLINES[decline_code]
    return card_error(message, code=code, decline_code=decline_code)


def attach_outcome(pm: dict) -> StripeError | None:
    """Attaching (or saving in a SetupIntent) verifies the card: always-declining cards fail here."""
    decline = pm.get('_decline')
    return decline_error(decline) if decline else None


def charge_outcome(pm: dict) -> StripeError | None:
    decline = pm.get('_decline') or pm.get('_charge_decline')
    return decline_error(decline) if decline else None

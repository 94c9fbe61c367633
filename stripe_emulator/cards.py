"""Stripe's test cards and tokens, and what happens when they are attached or charged.

Like Stripe's test mode, only the published test card numbers are accepted: any other number is refused with
Stripe's own "non test card" decline, so nobody types a real card into the emulator by mistake.
"""

import hashlib
import hmac
import re
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

NON_TEST_CARD = (
    'Your card was declined. Your request was in test mode, but used a non test card. For a list of valid test '
    'cards, visit: https://stripe.com/docs/testing.'
)

# Stripe's `brand` -> `display_brand`.
DISPLAY_BRANDS = {'amex': 'american_express', 'diners': 'diners_club', 'unionpay': 'union_pay', 'unknown': 'other'}


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
    # The charge succeeds, then the cardholder disputes it at once: (reason, status) of the dispute.
    dispute: tuple[str, str] | None = None
    # 3-D Secure: 'always' (4000 0027 6000 3184: every payment and setup asks the cardholder), or 'unless_set_up'
    # (4000 0025 0000 3155: setup and on-session payments ask; off-session payments do not once the card was set up).
    three_d_secure: str | None = None

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def display_brand(self) -> str:
        return DISPLAY_BRANDS.get(self.brand, self.brand)


def _cards(*cards: Card) -> dict[str, Card]:
    return {card.number: card for card in cards}


# Every card number Stripe publishes for test mode that the emulator knows (https://docs.stripe.com/testing).
TEST_CARDS = _cards(
    # By brand: these succeed.
    Card('4242424242424242', 'visa'),
    Card('4000056655665556', 'visa', funding='debit'),
    Card('5555555555554444', 'mastercard'),
    Card('2223003122003222', 'mastercard'),
    Card('5200828282828210', 'mastercard', funding='debit'),
    Card('5105105105105100', 'mastercard', funding='prepaid'),
    Card('378282246310005', 'amex'),
    Card('371449635398431', 'amex'),
    Card('6011111111111117', 'discover'),
    Card('6011000990139424', 'discover'),
    Card('6011981111111113', 'discover', funding='debit'),
    Card('3056930009020004', 'diners'),
    Card('36227206271667', 'diners'),
    Card('6555900000604105', 'discover'),
    Card('3566002020360505', 'jcb'),
    Card('6200000000000005', 'unionpay'),
    Card('6200000000000047', 'unionpay', funding='debit'),
    Card('6205500000000000004', 'unionpay'),
    # By country.
    Card('4000000760000002', 'visa', country='BR'),
    Card('4000002500000003', 'visa', country='FR'),
    Card('4000002760000016', 'visa', country='DE'),
    # Declines.
    Card('4000000000000002', 'visa', decline='generic_decline'),
    Card('4000000000009995', 'visa', decline='insufficient_funds'),
    Card('4000000000009987', 'visa', decline='lost_card'),
    Card('4000000000009979', 'visa', decline='stolen_card'),
    Card('4000000000000069', 'visa', decline='expired_card'),
    Card('4000000000000127', 'visa', decline='incorrect_cvc'),
    Card('4000000000000119', 'visa', decline='processing_error'),
    Card('4000000000000341', 'visa', charge_decline='generic_decline'),
    # 3-D Secure (SCA).
    Card('4000002760003184', 'visa', country='DE', three_d_secure='always'),
    Card('4000002500003155', 'visa', country='FR', three_d_secure='unless_set_up'),
    # Disputes.
    Card('4000000000000259', 'visa', dispute=('fraudulent', 'needs_response')),
    Card('4000000000002685', 'visa', dispute=('product_not_received', 'needs_response')),
    Card('4000000000001976', 'visa', dispute=('general', 'warning_needs_response')),
)

TOKENS = {
    'tok_visa': '4242424242424242',
    'tok_visa_debit': '4000056655665556',
    'tok_mastercard': '5555555555554444',
    'tok_mastercard_debit': '5200828282828210',
    'tok_mastercard_prepaid': '5105105105105100',
    'tok_amex': '378282246310005',
    'tok_discover': '6011111111111117',
    'tok_diners': '3056930009020004',
    'tok_jcb': '3566002020360505',
    'tok_unionpay': '6200000000000005',
    'tok_br': '4000000760000002',
    'tok_de': '4000002760000016',
    'tok_fr': '4000002500000003',
    'tok_chargeDeclined': '4000000000000002',
    'tok_chargeDeclinedInsufficientFunds': '4000000000009995',
    'tok_chargeDeclinedLostCard': '4000000000009987',
    'tok_chargeDeclinedStolenCard': '4000000000009979',
    'tok_chargeDeclinedExpiredCard': '4000000000000069',
    'tok_chargeDeclinedIncorrectCvc': '4000000000000127',
    'tok_chargeDeclinedProcessingError': '4000000000000119',
    'tok_chargeCustomerFail': '4000000000000341',
    'tok_createDispute': '4000000000000259',
    'tok_createDisputeProductNotReceived': '4000000000002685',
    'tok_createDisputeInquiry': '4000000000001976',
    # Named after Stripe's test payment methods pm_card_authenticationRequired(OnSetup); emulator-only tokens.
    'tok_authenticationRequired': '4000002760003184',
    'tok_authenticationRequiredOnSetup': '4000002500003155',
}

AUTHENTICATION_FAILED = (
    'We are unable to authenticate your payment method. Please choose a different payment method and try again.'
)

_DIGITS = re.compile(r'[0-9]+')


def test_card(number: str) -> Card | None:
    """The test card with this number, or None when it is not one of Stripe's test cards."""
    return TEST_CARDS.get(number)


def is_digits(value: str) -> bool:
    """ASCII digits only (`str.isdigit` also takes '²' and other scripts' digits, which `int` may refuse)."""
    return _DIGITS.fullmatch(value) is not None


def brand_of(number: str) -> str:
    if not is_digits(number):
        return 'unknown'
    if number.startswith('4'):
        return 'visa'
    if number[:2] in ('34', '37'):
        return 'amex'
    if 51 <= int(number[:2]) <= 55 or 2221 <= int(number[:4]) <= 2720:
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


def minimum_length(brand: str) -> int:
    return {'amex': 15, 'diners': 14}.get(brand, 16)


def luhn_valid(number: str) -> bool:
    if not is_digits(number):
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def fingerprint(secret: str, kind: str, value: str) -> str:
    """Stripe's `fingerprint`: the same card (or bank account) gives the same value within one emulator, and the
    value is keyed with the emulator's own secret, so it reveals nothing about the number."""
    digest = hmac.new(secret.encode(), f'{kind}:{value}'.encode(), hashlib.sha256).hexdigest()
    return digest[:16]


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


def needs_authentication(pm: dict | None, *, off_session: bool) -> bool:
    """Whether paying with (or saving) this card asks the cardholder to authenticate (3-D Secure) first."""
    mode = (pm or {}).get('_three_d_secure')
    if mode == 'always':
        return True
    return mode == 'unless_set_up' and not (off_session and pm.get('_set_up'))


def authentication_failed() -> StripeError:
    return card_error(AUTHENTICATION_FAILED, code='payment_intent_authentication_failure')

"""SEPA Direct Debit: IBAN checks, Stripe's test IBANs, and the mandate a customer accepts when paying by IBAN.

SEPA Direct Debit is a delayed payment method: a payment is `processing` first and settles later (see `settlement`).
Like Stripe's test mode, only Stripe's test IBANs are taken; what each one does later is in `TEST_IBANS`.
"""

import re
from dataclasses import dataclass

from .context import Context
from .ids import new_id, random_token

# IBAN length by country, for the countries of the SEPA scheme.
IBAN_LENGTHS = {
    'AD': 24, 'AT': 20, 'BE': 16, 'BG': 22, 'CH': 21, 'CY': 28, 'CZ': 24, 'DE': 22, 'DK': 18, 'EE': 20, 'ES': 24,
    'FI': 18, 'FR': 27, 'GB': 22, 'GI': 23, 'GR': 27, 'HR': 21, 'HU': 28, 'IE': 22, 'IS': 26, 'IT': 27, 'LI': 21,
    'LT': 20, 'LU': 20, 'LV': 21, 'MC': 27, 'MT': 31, 'NL': 18, 'NO': 15, 'PL': 28, 'PT': 25, 'RO': 24, 'SE': 24,
    'SI': 19, 'SK': 24, 'SM': 27, 'VA': 22,
}  # fmt: skip

# Where the bank (and branch) code sits in the BBAN, the part after the check digits: (start, bank, branch).
_BANK_CODES = {'AT': (0, 5, 0), 'DE': (0, 8, 0), 'FR': (0, 5, 5), 'ES': (0, 4, 4), 'IT': (1, 5, 5), 'BE': (0, 3, 0),
               'NL': (0, 4, 0), 'LU': (0, 3, 0), 'IE': (0, 4, 6), 'PT': (0, 4, 4)}  # fmt: skip

INCOMPLETE = 'Your IBAN is incomplete.'
INVALID = 'Your IBAN is invalid.'
BAD_COUNTRY = "Your IBAN's country code is invalid. SEPA Direct Debit takes IBANs from the SEPA countries only."
NON_TEST_IBAN = (
    'Your bank account was declined. Your request was in test mode, but used a non test bank account. Use one of '
    "Stripe's test IBANs, such as AT61 1904 3002 3457 3201."
)
# What Stripe puts on a PaymentIntent whose debit failed after it was taken.
ATTEMPT_FAILED = (
    'The latest payment attempt of this PaymentIntent has failed or been canceled, and the attached payment method '
    'has been removed. You can try confirming again with a new payment method.'
)


@dataclass(frozen=True)
class TestIban:
    outcome: str  # 'succeeded', 'failed' or 'disputed' (succeeds, then the customer disputes it at once)
    failure_code: str | None = None
    failure_message: str | None = None


_FAILS = TestIban('failed', 'generic_could_not_process', 'The payment could not be processed by the bank.')

# Stripe's test IBANs (https://docs.stripe.com/testing#sepa-direct-debit). Stripe settles some of them within
# seconds and others after about three minutes; the emulator settles all of them after `async_payment_delay_seconds`.
TEST_IBANS = {
    'AT611904300234573201': TestIban('succeeded'),
    'AT321904300235473204': TestIban('succeeded'),
    'AT861904300235473202': _FAILS,
    'AT051904300235473205': _FAILS,
    'AT591904300235473203': TestIban('disputed'),
    'DE89370400440532013000': TestIban('succeeded'),
    'DE62370400440532013001': TestIban(
        'failed', 'incorrect_account_holder_name', 'The account holder name does not match the bank account.'
    ),
}


@dataclass(frozen=True)
class BankAccount:
    iban: str
    test: TestIban

    @property
    def country(self) -> str:
        return self.iban[:2]

    @property
    def last4(self) -> str:
        return self.iban[-4:]

    @property
    def bank_code(self) -> str:
        start, bank, _ = _BANK_CODES.get(self.country, (0, 4, 0))
        return self.iban[4 + start : 4 + start + bank]

    @property
    def branch_code(self) -> str:
        start, bank, branch = _BANK_CODES.get(self.country, (0, 4, 0))
        return self.iban[4 + start + bank : 4 + start + bank + branch]


def normalize(value: str) -> str:
    return re.sub(r'[\s-]', '', value or '').upper()


def checksum_valid(iban: str) -> bool:
    """ISO 13616: move the country and check digits to the end, letters to numbers, and the result mod 97 is 1."""
    if not re.fullmatch(r'[A-Z]{2}[0-9]{2}[A-Z0-9]+', iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int(''.join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def read_iban(value: str) -> tuple[BankAccount | None, str | None]:
    """The test bank account an IBAN names, or the message to show next to the field."""
    iban = normalize(value)
    if not iban:
        return None, INCOMPLETE
    if not re.fullmatch(r'[A-Z0-9]+', iban) or len(iban) > 34:
        return None, INVALID
    if len(iban) < 2:
        return None, INCOMPLETE
    if not iban[:2].isalpha():
        return None, INVALID
    length = IBAN_LENGTHS.get(iban[:2])
    if length is None:
        return None, BAD_COUNTRY
    if len(iban) < length:
        return None, INCOMPLETE
    if len(iban) > length or not checksum_valid(iban):
        return None, INVALID
    test = TEST_IBANS.get(iban)
    if test is None:
        return None, NON_TEST_IBAN
    return BankAccount(iban, test), None


def new_mandate(
    ctx: Context,
    *,
    payment_method: str,
    accepted_at: int,
    ip_address: str | None,
    user_agent: str | None,
    single_use: tuple[int, str] | None,
) -> dict:
    """The mandate a customer accepted on the hosted page: `single_use` (amount, currency) or multi-use."""
    mandate_id = new_id('mandate')
    mandate = {
        'id': mandate_id,
        'object': 'mandate',
        'customer_acceptance': {
            'accepted_at': accepted_at,
            'online': {'ip_address': ip_address, 'user_agent': (user_agent or '')[:500] or None},
            'type': 'online',
        },
        'livemode': False,
        'payment_method': payment_method,
        'payment_method_details': {
            'sepa_debit': {
                'reference': random_token(16).upper(),
                'url': ctx.url(f'/mandate/{mandate_id}/{ctx.hosted_token(mandate_id)}'),
            },
            'type': 'sepa_debit',
        },
        'status': 'active',
        'type': 'single_use' if single_use else 'multi_use',
    }
    if single_use:
        mandate['single_use'] = {'amount': single_use[0], 'currency': single_use[1]}
    else:
        mandate['multi_use'] = {}
    ctx.save(mandate)
    return mandate

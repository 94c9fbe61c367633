"""The SEPA Direct Debit fields of the hosted Checkout page (IBAN, account holder) and the mandate the customer
accepts by paying with them."""

from .. import sepa
from ..checkout_flow import SepaEntry
from .cardform import CardForm
from .layout import esc
from .layout import field as input_field

TEST_IBANS_HINT = (
    '<p class="test-cards">Test mode: only test IBANs are accepted. AT61 1904 3002 3457 3201 succeeds and '
    'AT86 1904 3002 3547 3202 fails, each a few minutes after paying.</p>'
)


def read(values: dict[str, str], *, ip_address: str | None, user_agent: str | None) -> tuple[SepaEntry | None, dict]:
    """Validate the typed bank details; returns the entry, or the errors by field name."""
    errors: dict[str, str] = {}
    account, problem = sepa.read_iban(values.get('iban', ''))
    if problem:
        errors['iban'] = problem
    name = values.get('account_holder', '').strip()
    if not name:
        errors['account_holder'] = 'Enter the account holder name.'
    if errors or account is None:
        return None, errors
    return SepaEntry(account, name, ip_address=ip_address, user_agent=user_agent), {}


def render(form: CardForm, account_name: str) -> str:
    values, errors = form.values, form.errors
    iban = input_field(
        'iban', 'IBAN', value=values.get('iban', ''), error=errors.get('iban'), placeholder='AT00 0000 0000 0000 0000',
        extra='autocomplete="off" autocapitalize="characters" spellcheck="false"',
    )  # fmt: skip
    holder = input_field(
        'account_holder', 'Account holder name', value=values.get('account_holder', ''),
        error=errors.get('account_holder'), placeholder='Full name', extra='autocomplete="name"',
    )  # fmt: skip
    mandate = (
        f'<p class="mandate">By providing your payment information and confirming this payment, you authorise '
        f'{esc(account_name)} and Stripe, its payment service provider, to send instructions to your bank to debit '
        'your account, and your bank to debit your account in accordance with those instructions. You are entitled to '
        'a refund from your bank under the terms and conditions of your agreement with your bank; a refund must be '
        'claimed within 8 weeks starting from the date on which your account was debited.</p>'
    )
    return f'{iban}{holder}{mandate}{TEST_IBANS_HINT}'

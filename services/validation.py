"""Field checks shared by the forms of several services."""

import re

from email_validator import EmailNotValidError, validate_email

MAX_NAME_LENGTH = 200
# C0 and C1 control characters, and Unicode's bidirectional embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069), which can make a name display as something else ("Trojan Source").
_FORBIDDEN = re.compile('[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]')
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


def clean_name(value: str, errors: dict[str, str], field: str, *, label: str = 'Name') -> str:
    value = (value or '').strip()
    if not value:
        errors[field] = f'{label} is required.'
    elif len(value) > MAX_NAME_LENGTH:
        errors[field] = f'{label} can be at most {MAX_NAME_LENGTH} characters.'
    elif _FORBIDDEN.search(value):
        errors[field] = f'{label} cannot contain control characters or text-direction overrides.'
    return value


def clean_email(value: str, errors: dict[str, str], field: str, *, required: bool = True) -> str:
    """Return the address lower-cased (addresses are unique regardless of case), or record why it is invalid."""
    value = (value or '').strip()
    if not value:
        if required:
            errors[field] = 'Email is required.'
        return ''
    try:
        return _normalized_email(value)
    except EmailNotValidError as error:
        errors[field] = f'Enter a valid email address: {email_problem(error)}'
        return value


def email_problem(error: EmailNotValidError) -> str:
    """What is wrong with an address, in Portico's words (email-validator's own are for developers)."""
    text = str(error).lower()
    if 'after the @' in text or 'domain' in text or 'dns' in text:
        return 'the part after the @ must be a domain, as in example.com.'
    if 'must have an @' in text:
        return 'it needs an @, as in name@example.com.'
    if 'space' in text:
        return 'it cannot contain spaces.'
    if 'before the @' in text or 'period' in text:
        return 'the part before the @ holds a character or a dot that addresses cannot have there.'
    return 'use the form name@example.com.'


def clean_email_list(value: str, errors: dict[str, str], field: str, *, at_most: int, label: str) -> str:
    """Comma-separated addresses, each checked like `clean_email`, given back lower-cased, without repeats and
    joined by ', '; or record why not (naming the address that is wrong)."""
    addresses = [part.strip() for part in (value or '').split(',') if part.strip()]
    cleaned: list[str] = []
    for address in addresses:
        try:
            email = _normalized_email(address)
        except EmailNotValidError as error:
            errors[field] = f'{address} is not a valid email address: {email_problem(error)}'
            return (value or '').strip()
        if email not in cleaned:
            cleaned.append(email)
    if len(cleaned) > at_most:
        errors[field] = f'At most {at_most:,} {label}.'
    return ', '.join(cleaned)


def _normalized_email(value: str) -> str:
    # No DNS lookup: a self-hosted portal may run offline, and a slow resolver must not stall a form.
    return validate_email(value, check_deliverability=False).normalized.lower()


def check_password(value: str, errors: dict[str, str], field: str) -> str:
    if len(value or '') < MIN_PASSWORD_LENGTH:
        errors[field] = f'Use at least {MIN_PASSWORD_LENGTH} characters.'
    elif len(value) > MAX_PASSWORD_LENGTH:
        errors[field] = f'Use at most {MAX_PASSWORD_LENGTH} characters.'
    return value or ''


def check_pattern(value: str, errors: dict[str, str], field: str, *, pattern: str, message: str) -> str:
    value = (value or '').strip()
    if value and not re.fullmatch(pattern, value):
        errors[field] = message
    return value

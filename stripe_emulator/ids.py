import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

# Stripe's ids are a type prefix and a random tail; the tail lengths follow what Stripe hands out.
_TAIL_LENGTHS = {'cus': 14, 'prod': 14, 'clock': 24, 'cs_test': 58, 'req': 14, 'txi': 24}

# Which stored object type an id prefix names, for expansion and error messages.
PREFIX_TYPES = {
    'cus': 'customer',
    'prod': 'product',
    'price': 'price',
    'pm': 'payment_method',
    'cs_test': 'checkout.session',
    'seti': 'setup_intent',
    'pi': 'payment_intent',
    'ch': 'charge',
    'py': 'charge',
    're': 'refund',
    'du': 'dispute',
    'mandate': 'mandate',
    'sub': 'subscription',
    'in': 'invoice',
    'ii': 'invoiceitem',
    'evt': 'event',
    'clock': 'test_helpers.test_clock',
    'txi': 'tax_id',
}


def new_id(prefix: str) -> str:
    tail = ''.join(secrets.choice(_ALPHABET) for _ in range(_TAIL_LENGTHS.get(prefix, 24)))
    return f'{prefix}_{tail}'


def random_token(length: int = 24) -> str:
    return ''.join(secrets.choice(_ALPHABET) for _ in range(length))


def type_of(object_id: str) -> str | None:
    if object_id.startswith('cs_test_'):
        return 'checkout.session'
    return PREFIX_TYPES.get(object_id.split('_', 1)[0])

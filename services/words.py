"""How Portico writes a count for people: thousands separators, and the noun in the plural it needs."""


def plural(count: int, noun: str, nouns: str = '') -> str:
    """ "1 seat", "3 seats", "1,000 token packs"; `nouns` for a plural that is not `noun` + "s"."""
    return f'{count:,} {noun if count == 1 else nouns or noun + "s"}'

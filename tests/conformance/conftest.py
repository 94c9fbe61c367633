"""The types the conformance tests check against, and where they run.

The tests drive only the Stripe emulator, which keeps its state in its own SQLite file whatever DATABASE_URL says:
like tests/emulator/ (ONCE_ON_SQLITE in tests/conftest.py), they run on CI's SQLite pass only."""

from pathlib import Path

import pytest

from .stripe_types import StripeTypes

STRIPE_NODE = '23.1.0'  # also in the Makefile and fetch_types.sh
TYPES_DIR = Path(__file__).resolve().parents[2] / '.cache' / f'stripe-node-{STRIPE_NODE}'


@pytest.fixture(scope='session')
def stripe_types() -> StripeTypes:
    """stripe-node's declarations, fetched once by `make test` into .cache/ (git-ignored); the tests never download
    anything themselves, and fail, saying how to fetch them, when they are not there."""
    if not (TYPES_DIR / 'VERSION').is_file():
        pytest.fail(
            f"stripe-node {STRIPE_NODE}'s types are not in {TYPES_DIR}: `make test` fetches them once, "
            'or run `sh tests/conformance/fetch_types.sh` (it needs npm and the npm registry).',
            pytrace=False,
        )
    return StripeTypes(TYPES_DIR)

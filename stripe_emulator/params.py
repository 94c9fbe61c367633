"""Typed reading of decoded params, with Stripe's error messages for missing or malformed values."""

import importlib
from typing import Any

from .errors import invalid, parameter_missing


def check_known(params: dict, spec: type | None, *, extra: frozenset[str] = frozenset()) -> None:
    """Reject top-level params the real API does not know, using the SDK's own TypedDict for the endpoint.

    This catches parameters that were removed in this API version (e.g. `payment_method_types` on
    Checkout), which real Stripe would refuse too.
    """
    if spec is None:
        return
    known = set(getattr(spec, '__annotations__', {})) | {'expand'} | extra
    for key in params:
        if key not in known:
            raise invalid(f'Received unknown parameter: {key}', param=key, code='parameter_unknown')


def sdk_params(module: str, name: str) -> type | None:
    """The SDK's TypedDict for an endpoint, or None when the SDK is not installed (no validation then)."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def get_str(params: dict, key: str, *, required: bool = False, choices: tuple[str, ...] | None = None) -> str | None:
    value = params.get(key)
    if value is None or value == '':
        if required:
            raise parameter_missing(key)
        return None
    if not isinstance(value, str):
        raise invalid(f'Invalid string: {value!r}', param=key, code='parameter_invalid_string')
    if choices is not None and value not in choices:
        raise invalid(f'Invalid {key}: must be one of {", ".join(choices)}', param=key, code='parameter_invalid_string')
    return value


# Stripe's integers are 64-bit.
_INT_LIMIT = 2**63
# Timestamps the emulator can still do calendar arithmetic on (a few years of billing periods past them).
MAX_TIMESTAMP = 4102444800  # 2100-01-01


def get_int(
    params: dict, key: str, *, required: bool = False, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    value = params.get(key)
    if value is None or value == '':
        if required:
            raise parameter_missing(key)
        return None
    try:
        if isinstance(value, str) and len(value) > 20:  # longer than any 64-bit integer
            raise ValueError(value)
        number = int(value)
        if not -_INT_LIMIT <= number < _INT_LIMIT:
            raise ValueError(value)
    except (TypeError, ValueError):
        shown = value[:40] if isinstance(value, str) else '(a hash or an array)'
        raise invalid(f'Invalid integer: {shown}', param=key, code='parameter_invalid_integer') from None
    if minimum is not None and number < minimum:
        raise invalid(
            f'This value must be greater than or equal to {minimum}.', param=key, code='parameter_invalid_integer'
        )
    if maximum is not None and number > maximum:
        raise invalid(
            f'This value must be less than or equal to {maximum}.', param=key, code='parameter_invalid_integer'
        )
    return number


def get_timestamp(params: dict, key: str, *, required: bool = False) -> int | None:
    """A Unix timestamp between 1970 and 2100."""
    value = get_int(params, key, required=required)
    if value is not None and not 0 <= value <= MAX_TIMESTAMP:
        raise invalid(
            'Invalid timestamp: must be an integer Unix timestamp between 1970 and 2100.', param=key,
            code='parameter_invalid_integer',
        )  # fmt: skip
    return value


def get_bool(params: dict, key: str, *, default: bool | None = None) -> bool | None:
    value = params.get(key)
    if value is None or value == '':
        return default
    if value in ('true', True):
        return True
    if value in ('false', False):
        return False
    raise invalid(f'Invalid boolean: {value}', param=key, code='parameter_invalid_boolean')


def get_dict(params: dict, key: str) -> dict | None:
    value = params.get(key)
    if value is None or value == '':
        return None
    if not isinstance(value, dict):
        raise invalid(f'Invalid hash for parameter: {key}', param=key)
    return value


def get_list(params: dict, key: str) -> list | None:
    value = params.get(key)
    if value is None or value == '':
        return None
    if isinstance(value, dict):  # `items[a]=...` with non-numeric keys is not a list
        raise invalid(f'Invalid array for parameter: {key}', param=key)
    return value if isinstance(value, list) else [value]


def get_strings(params: dict, key: str) -> list[str] | None:
    """An array of strings (`lookup_keys[]=a&lookup_keys[]=b`)."""
    values = get_list(params, key)
    if values is not None and not all(isinstance(value, str) for value in values):
        raise invalid(f'Invalid array of strings for parameter: {key}', param=key)
    return values


def get_dicts(params: dict, key: str) -> list[dict] | None:
    """An array of hashes (`items[0][price]=...`): each element must be a hash."""
    values = get_list(params, key)
    for index, value in enumerate(values or []):
        if not isinstance(value, dict):
            raise invalid(f'Invalid hash for parameter: {key}[{index}]', param=f'{key}[{index}]')
    return values


def merge_metadata(current: dict | None, update: Any, *, param: str = 'metadata') -> dict:
    """Stripe's metadata update: keys are merged, an empty string deletes a key, `metadata=''` clears all."""
    merged = dict(current or {})
    if update is None:
        return merged
    if update == '':
        return {}
    if not isinstance(update, dict):
        raise invalid('Invalid hash for parameter: metadata', param=param)
    for key, value in update.items():
        if value == '':
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged


def address(value: Any, *, param: str) -> dict | None:
    if value is None or value == '':
        return None
    if not isinstance(value, dict):
        raise invalid(f'Invalid hash for parameter: {param}', param=param)
    fields = ('city', 'country', 'line1', 'line2', 'postal_code', 'state')
    return {field: (value.get(field) or None) for field in fields}


def expand_paths(params: dict) -> list[str]:
    return get_strings(params, 'expand') or []

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


def get_int(params: dict, key: str, *, required: bool = False, minimum: int | None = None) -> int | None:
    value = params.get(key)
    if value is None or value == '':
        if required:
            raise parameter_missing(key)
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f'Invalid integer: {value}', param=key, code='parameter_invalid_integer') from None
    if minimum is not None and number < minimum:
        raise invalid(
            f'This value must be greater than or equal to {minimum}.', param=key, code='parameter_invalid_integer'
        )
    return number


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
    return [path for path in (get_list(params, 'expand') or []) if isinstance(path, str)]

"""Decoding of Stripe's form encoding: `items[0][price]=x&expand[]=y&metadata[k]=v` into nested dicts and lists."""

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from .errors import invalid

_KEY = re.compile(r'^([^\[\]]+)((?:\[[^\[\]]*\])*)$')
_PART = re.compile(r'\[([^\[\]]*)\]')
_INDEX = re.compile(r'[0-9]{1,9}')
# Stripe's deepest parameters nest five levels (`subscription_details[items][0][price_data][recurring][interval]`).
MAX_DEPTH = 10
MAX_FIELDS = 10_000


@dataclass(frozen=True)
class _Slot:
    """An empty key (`expand[]`): the next place in a list. Input can never produce one, unlike any string."""

    position: int


def decode(raw: str) -> dict:
    """Turn a query string or form body into nested params; lists come from numeric or empty (`[]`) keys."""
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise invalid(f'Too many parameters: a request may have at most {MAX_FIELDS}.') from None
    root: dict = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise invalid(f'Invalid parameter name: {key}', param=key)
        parts = [match.group(1), *_PART.findall(match.group(2))]
        if len(parts) > MAX_DEPTH + 1:
            raise invalid(f'Invalid parameter name: {key} is nested more than {MAX_DEPTH} levels deep.', param=key)
        _insert(root, parts, value)
    return _listify(root, '')


def _insert(node: dict, parts: list[str], value: str) -> None:
    *path, last = parts
    for part in path:
        key = part if part != '' else _Slot(len(node))
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise invalid(f'Invalid array or hash for parameter: {part}', param=part)
        node = child
    # `expand[]` appends: give every empty key its own slot so repeated values are kept in order.
    node[last if last != '' else _Slot(len(node))] = value


def _listify(node, name: str):
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value, _name(name, key)) for key, value in node.items()}
    indexes = [_index(key) for key in items]
    if items and None not in indexes:
        return [value for _, value in sorted(zip(indexes, items.values(), strict=True), key=lambda pair: pair[0])]
    if any(isinstance(key, _Slot) for key in items):
        raise invalid(f'Invalid array or hash for parameter: {name}', param=name)
    return items


def _index(key) -> int | None:
    if isinstance(key, _Slot):
        return key.position
    return int(key) if _INDEX.fullmatch(key) else None


def _name(parent: str, key) -> str:
    label = '' if isinstance(key, _Slot) else key
    return f'{parent}[{label}]' if parent else label

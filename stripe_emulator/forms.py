"""Decoding of Stripe's form encoding: `items[0][price]=x&expand[]=y&metadata[k]=v` into nested dicts and lists."""

import re
from urllib.parse import parse_qsl

from .errors import invalid

_KEY = re.compile(r'^([^\[\]]+)((?:\[[^\[\]]*\])*)$')


def decode(raw: str) -> dict:
    """Turn a query string or form body into nested params; lists come from numeric or empty (`[]`) keys."""
    root: dict = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        match = _KEY.match(key)
        if not match:
            raise invalid(f'Invalid parameter name: {key}', param=key)
        parts = [match.group(1), *re.findall(r'\[([^\[\]]*)\]', match.group(2))]
        _insert(root, parts, value)
    return _listify(root)


def _insert(node: dict, parts: list[str], value: str) -> None:
    *path, last = parts
    for part in path:
        part = part if part != '' else f'\0{len(node)}'
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise invalid(f'Invalid array or hash for parameter: {part}', param=part)
        node = child
    # `expand[]` appends: give every empty key its own slot so repeated values are kept in order.
    node[last if last != '' else f'\0{len(node)}'] = value


def _listify(node):
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    if items and all(_is_index(key) for key in items):
        return [value for _, value in sorted(items.items(), key=lambda kv: _index(kv[0]))]
    return items


def _is_index(key: str) -> bool:
    return key.isdigit() or key.startswith('\0')


def _index(key: str) -> int:
    return int(key.lstrip('\0'))

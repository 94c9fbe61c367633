"""`expand[]`: replace ids by the objects they name, along dotted paths (`data.` walks into lists)."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import invalid
from .ids import type_of
from .render import render

if TYPE_CHECKING:
    from .context import Context

# Properties that are only present when expanded, like a Checkout Session's `line_items`.
Includable = Callable[['Context', dict], object]
_INCLUDABLE: dict[tuple[str, str], Includable] = {}
_MAX_DEPTH = 4


def includable(object_type: str, field: str) -> Callable[[Includable], Includable]:
    def register(function: Includable) -> Includable:
        _INCLUDABLE[(object_type, field)] = function
        return function

    return register


def expand(ctx: 'Context', obj: dict, paths: list[str]) -> dict:
    for path in paths:
        parts = path.split('.')
        if len(parts) > _MAX_DEPTH:
            raise invalid(
                f'You cannot expand more than {_MAX_DEPTH} levels of a property. Property: {path}', param='expand'
            )
        _expand(ctx, obj, parts, path)
    return obj


def _expand(ctx: 'Context', node: object, parts: list[str], path: str) -> None:
    if not parts or not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    if node.get('object') == 'list' and head == 'data':
        for item in node.get('data', []):
            _expand(ctx, item, rest, path)
        return
    include = _INCLUDABLE.get((node.get('object', ''), head))
    if include is not None:
        node[head] = include(ctx, node)
    elif head not in node:
        raise invalid(f'This property cannot be expanded ({head}).', param='expand')
    node[head] = _resolve(ctx, node[head], head)
    value = node[head]
    for child in value if isinstance(value, list) else [value]:
        _expand(ctx, child, rest, path)


def _resolve(ctx: 'Context', value: object, field: str) -> object:
    if isinstance(value, list):
        return [_resolve(ctx, item, field) for item in value]
    if not isinstance(value, str):
        return value
    if type_of(value) is None:
        raise invalid(f'This property cannot be expanded ({field}).', param='expand')
    doc = ctx.store.get(value)
    return render(ctx, doc) if doc is not None else value

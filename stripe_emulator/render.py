"""Turning stored documents into API objects.

Documents are stored in API shape; keys starting with `_` are the emulator's own bookkeeping and never
leave it. A few types also join in other objects when rendered (a subscription item's price object).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import Context

Renderer = Callable[['Context', dict], dict]
_RENDERERS: dict[str, Renderer] = {}


def renderer(object_type: str) -> Callable[[Renderer], Renderer]:
    def register(function: Renderer) -> Renderer:
        _RENDERERS[object_type] = function
        return function

    return register


def render(ctx: 'Context', doc: dict) -> dict:
    public = {key: value for key, value in doc.items() if not key.startswith('_')}
    function = _RENDERERS.get(doc.get('object', ''))
    return function(ctx, public) if function else public


def diff(before: dict, after: dict) -> dict:
    """Stripe's `previous_attributes`: the old values of what changed, recursing into nested hashes."""
    changed = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and old.get('object') != 'list':
            changed[key] = diff(old, new)
        else:
            changed[key] = old
    return changed

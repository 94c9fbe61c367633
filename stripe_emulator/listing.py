"""Stripe's list objects and cursor paging (`limit`, `starting_after`, `ending_before`), newest first."""

from typing import TYPE_CHECKING, Any

from .errors import invalid, missing
from .ids import type_of
from .params import get_int, get_str
from .render import render

if TYPE_CHECKING:
    from .context import Context


def list_object(data: list[dict], url: str, *, has_more: bool = False) -> dict:
    return {'object': 'list', 'data': data, 'has_more': has_more, 'url': url}


def paged(ctx: 'Context', params: dict, object_type: str, url: str, filters: dict[str, Any] | None = None) -> dict:
    limit = get_int(params, 'limit')
    limit = 10 if limit is None else limit
    if not 1 <= limit <= 100:
        raise invalid('This value must be between 1 and 100.', param='limit', code='parameter_invalid_integer')
    starting_after = get_str(params, 'starting_after')
    ending_before = get_str(params, 'ending_before')
    if starting_after and ending_before:
        raise invalid('You may only specify one of these parameters: ending_before, starting_after.')
    page = ctx.store.page(object_type, filters, limit=limit, starting_after=starting_after, ending_before=ending_before)
    if page is None:
        cursor = starting_after or ending_before or ''
        param = 'starting_after' if starting_after else 'ending_before'
        raise missing(type_of(cursor) or 'object', cursor, param=param)
    docs, has_more = page
    return list_object([render(ctx, doc) for doc in docs], url, has_more=has_more)


def paged_in_memory(params: dict, data: list[dict], url: str) -> dict:
    """Paging over a list we already hold (an invoice's lines), for endpoints that need no query."""
    limit = get_int(params, 'limit') or 10
    starting_after = get_str(params, 'starting_after')
    ending_before = get_str(params, 'ending_before')
    ids = [item['id'] for item in data]
    if starting_after in ids:
        data = data[ids.index(starting_after) + 1 :]
    elif ending_before in ids:
        data = data[: ids.index(ending_before)][-limit:]
        return list_object(data, url, has_more=ids.index(ending_before) > limit)
    return list_object(data[:limit], url, has_more=len(data) > limit)

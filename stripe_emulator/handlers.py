"""Handlers that many resources share: retrieving an object by its id, and listing objects with equality filters."""

from typing import TYPE_CHECKING

from .listing import paged
from .params import get_str
from .router import Handler

if TYPE_CHECKING:
    from .context import Context


def retriever(object_type: str) -> Handler:
    """The handler of `GET /v1/<objects>/{id}`: the stored object, or Stripe's 404 for an unknown id."""

    def retrieve(ctx: 'Context', params: dict, **path: str) -> dict:
        (object_id,) = path.values()
        return ctx.load(object_type, object_id)

    return retrieve


def lister(object_type: str, url: str, *filter_keys: str) -> Handler:
    """The handler of `GET <url>`: the objects, newest first, that match each of `filter_keys` given as a param."""

    def list_objects(ctx: 'Context', params: dict) -> dict:
        return paged(ctx, params, object_type, url, string_filters(params, *filter_keys))

    return list_objects


def string_filters(params: dict, *keys: str) -> dict:
    """Equality filters for the string params among `keys` that were given (a stored field of the same name)."""
    return {key: value for key in keys if (value := get_str(params, key))}

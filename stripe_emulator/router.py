"""A tiny method + path router for the API, so unknown URLs get Stripe's own error."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .params import sdk_params

Handler = Callable[..., dict]


@dataclass
class Route:
    method: str
    path: str
    handler: Handler
    # The SDK's params TypedDict for this endpoint ('CustomerCreateParams', 'checkout.SessionCreateParams').
    spec: str | None = None
    extra_params: frozenset[str] = frozenset()
    pattern: re.Pattern = field(init=False)
    spec_type: type | None = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r'\{(\w+)\}', r'(?P<\1>[^/]+)', self.path)
        self.pattern = re.compile(f'^{regex}$')
        self.spec_type = None
        if self.spec:
            module, _, name = self.spec.rpartition('.')
            self.spec_type = sdk_params(f'stripe.params.{module}' if module else 'stripe.params', name)


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._routes = routes

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method == method and (match := route.pattern.match(path)):
                return route, match.groupdict()
        return None

"""Headers on every response: no framing, no referrer (the set-password token is in the path), no sniffing,
HSTS behind https, and a Content-Security-Policy as strict as NiceGUI allows (docs/configuration.md says why)."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# NiceGUI builds each page with inline scripts, and Vue compiles the components' templates in the browser (eval).
# Quasar sets inline styles. Everything else comes from this same origin, the live updates over its websocket.
CONTENT_SECURITY_POLICY = '; '.join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])  # fmt: skip


class SecurityHeaders:
    """ASGI middleware; `https` adds Strict-Transport-Security (only ever sent when BASE_URL is https)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = [
            (b'x-frame-options', b'DENY'),
            (b'referrer-policy', b'no-referrer'),
            (b'x-content-type-options', b'nosniff'),
            (b'content-security-policy', CONTENT_SECURITY_POLICY.encode()),
            (b'cross-origin-opener-policy', b'same-origin'),
        ]
        if https:
            self.headers.append((b'strict-transport-security', b'max-age=31536000; includeSubDomains'))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message['type'] == 'http.response.start':
                present = {name.lower() for name, _ in message.get('headers', [])}
                extra = [header for header in self.headers if header[0] not in present]
                message = {**message, 'headers': [*message.get('headers', []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

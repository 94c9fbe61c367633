"""A product's webhook endpoint for the tests: a real HTTP server on a free port, in a thread, that verifies each
delivery with the Standard Webhooks library (the peer any product would use) and remembers what it got."""

import http.server
import threading
import time
from dataclasses import dataclass, field

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import free_port

SECRET = 'whsec_' + 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ1Ng=='


@dataclass
class Delivery:
    webhook_id: str
    event: dict


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    secret: str = SECRET
    deliveries: list[Delivery] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # deliveries whose signature did not verify
    fail_next: int = 0  # answer this many deliveries with 500 first, as a product that is down

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}/portico'

    def start(self) -> 'Receiver':
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get('content-length', 0)))
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                try:
                    event = Webhook(receiver.secret).verify(body, dict(self.headers))
                except WebhookVerificationError as error:
                    receiver.refused.append(str(error))
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.deliveries.append(Delivery(self.headers['webhook-id'], event))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def types(self) -> list[str]:
        return [delivery.event['type'] for delivery in self.deliveries]

    def wait_for(self, count: int, seconds: float = 15) -> None:
        deadline = time.monotonic() + seconds
        while len(self.deliveries) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f'expected {count} deliveries, got {self.types()}')
            time.sleep(0.05)

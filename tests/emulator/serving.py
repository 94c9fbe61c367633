"""Serving ASGI apps with uvicorn on a free loopback port in a background thread, for tests and benchmarks."""

import socket
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from stripe_emulator import Emulator, EmulatorConfig, create_app

MOUNT_PATH = '/emulator/stripe'


class ServerThread:
    """A uvicorn server on 127.0.0.1, bound before the app is built so the app can know its own URL."""

    def __init__(self, port: int = 0) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(('127.0.0.1', port))
        self.port = self.socket.getsockname()[1]
        self.url = f'http://127.0.0.1:{self.port}'
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, app) -> 'ServerThread':
        config = uvicorn.Config(app, log_level='warning', lifespan='on', timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={'sockets': [self.socket]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError('uvicorn did not start')
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            assert not self._thread.is_alive(), 'uvicorn thread did not stop'
        self.socket.close()


class EmulatorServer:
    """The emulator mounted like Portico mounts it, with start()/stop() in the host app's lifespan."""

    def __init__(self, data_dir: Path, *, webhook_url: str | None = None, **options) -> None:
        self.thread = ServerThread()
        self.config = EmulatorConfig(
            data_dir=data_dir,
            base_url=self.thread.url,
            mount_path=MOUNT_PATH,
            webhook_url=webhook_url,
            **options,
        )
        self.app = create_app(self.config)
        self.emulator: Emulator = self.app.state.emulator
        self.api_url = f'{self.thread.url}{MOUNT_PATH}'

    def start(self) -> 'EmulatorServer':
        emulator = self.emulator

        @asynccontextmanager
        async def lifespan(_app):
            await emulator.start()
            yield
            await emulator.stop()

        self.thread.start(Starlette(routes=[Mount(MOUNT_PATH, self.app)], lifespan=lifespan))
        return self

    def stop(self) -> None:
        self.thread.stop()
        self.emulator.close()

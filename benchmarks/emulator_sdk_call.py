"""How long one Stripe SDK call to the offline emulator takes, end to end over loopback HTTP.

Starts the emulator under uvicorn (mounted like Portico mounts it), then times N `customers.retrieve_async`
and N `customers.create_async` calls made with the real `stripe` SDK, and prints median and p95 in ms.

    .venv/bin/python -m benchmarks.emulator_sdk_call [-n 500]    (from the repository root)
"""

import argparse
import asyncio
import socket
import statistics
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import stripe
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from stripe_emulator import EmulatorConfig, create_app

MOUNT_PATH = '/emulator/stripe'


def serve(data_dir: Path) -> tuple[uvicorn.Server, str, str]:
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    base_url = f'http://127.0.0.1:{sock.getsockname()[1]}'
    emulator_app = create_app(EmulatorConfig(data_dir=data_dir, base_url=base_url, mount_path=MOUNT_PATH))
    emulator = emulator_app.state.emulator

    @asynccontextmanager
    async def lifespan(_app):
        await emulator.start()
        yield
        await emulator.stop()

    app = Starlette(routes=[Mount(MOUNT_PATH, emulator_app)], lifespan=lifespan)
    server = uvicorn.Server(uvicorn.Config(app, log_level='warning'))
    threading.Thread(target=server.run, kwargs={'sockets': [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f'{base_url}{MOUNT_PATH}', emulator.api_key


async def timed(calls: int, call) -> list[float]:
    durations = []
    for n in range(calls):
        start = time.perf_counter()
        await call(n)
        durations.append((time.perf_counter() - start) * 1000)
    return durations


def report(name: str, durations: list[float]) -> None:
    p95 = statistics.quantiles(durations, n=20)[-1]
    print(f'{name:<28} n={len(durations):<5} median {statistics.median(durations):6.2f} ms   p95 {p95:6.2f} ms')


async def main(calls: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        server, api_url, key = serve(Path(data_dir))
        try:
            v1 = stripe.StripeClient(key, base_addresses={'api': api_url}).v1
            customer = await v1.customers.create_async(params={'name': 'Benchmark'})
            await timed(20, lambda _: v1.customers.retrieve_async(customer.id))  # warm up connections and caches
            report('customers.retrieve_async', await timed(calls, lambda _: v1.customers.retrieve_async(customer.id)))
            report(
                'customers.create_async',
                await timed(calls, lambda n: v1.customers.create_async(params={'name': f'C{n}', 'email': f'{n}@x.io'})),
            )
        finally:
            server.should_exit = True


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-n', '--calls', type=int, default=500)
    asyncio.run(main(parser.parse_args().calls))

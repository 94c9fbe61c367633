"""A NiceGUI page as a browser holds it, without the browser: for benchmarks that need hundreds of open pages.

`NiceGUIPage.open(http, base, '/admin')` does what a browser tab does, over the same wire:

1. GET the page with the browser's cookies (an `httpx.AsyncClient` keeps them: one client per simulated browser);
2. parse the page's elements from the HTML (`createApp(parseElements(String.raw\\`…\\`), {query: …})`, HTML-escaped
   like NiceGUI's HTML_ESCAPE_TABLE) and the socket.io query (`client_id`, `next_message_id`,
   `implicit_handshake`), to which nicegui.js adds `document_id` and `tab_id`;
3. connect a python-socketio `AsyncClient` to `/_nicegui_ws/socket.io` over a WebSocket with that query. The implicit
   handshake happens in the connect itself: a connect that succeeds is a live page.

Then it keeps the element tree current as nicegui.js does: an 'update' message maps element ids to their new dict
(replacing the old one whole) or to null (deleted); a message whose `_id` is below the next expected id is a replay
and dropped; every 3 s it acks the next message id (`ack`), so the server can prune its message history. It records
`run_javascript` calls (a `runMethod(id, name, args)` on an element is kept as a method call of that element, and a
request id is answered with null), `notify` messages and `open` (navigation) messages.

An element listener is fired with `emit(element_id, event_type, *args)`: the message nicegui.js sends, `event` with
`{id, client_id, listener_id, args}`, each argument JSON-encoded. `wait_for(predicate)` waits for the first message
after which `predicate(page)` holds and returns the perf_counter() time that message arrived; `expect(predicate)`
registers the wait first, so that an answer that comes before the caller awaits it is not missed.
"""

import ast
import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import socketio

SOCKETIO_PATH = '/_nicegui_ws/socket.io'
ACK_EVERY_S = 3.0
ELEMENTS = re.compile(r'parseElements\(String\.raw`(.*?)`\)', re.S)
QUERY = re.compile(r'^\s*query: (\{.*\}),\s*$', re.M)
RUN_METHOD = re.compile(r'^return runMethod\((\d+), ("(?:[^"\\]|\\.)*"), (.*)\)$', re.S)
# nicegui.js's parseElements(), in its order: the reverse of NiceGUI's HTML_ESCAPE_TABLE.
UNESCAPE = (('&#36;', '$'), ('&#96;', '`'), ('&gt;', '>'), ('&lt;', '<'), ('&amp;', '&'))

Predicate = Callable[['NiceGUIPage'], bool]


class PageError(RuntimeError):
    """The page could not be opened or answered unexpectedly."""


@dataclass
class Waiter:
    predicate: Predicate
    future: asyncio.Future


@dataclass
class MethodCall:
    element_id: str
    name: str
    args: list
    at: float


@dataclass
class PageStats:
    messages: int = 0
    updates: int = 0
    replays: int = 0
    disconnects: int = 0
    notifications: list[dict] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)


def parse_page(text: str) -> tuple[dict[str, dict], dict]:
    """The elements dict and the socket.io query embedded in a NiceGUI page's HTML."""
    elements, query = ELEMENTS.search(text), QUERY.search(text)
    if not elements or not query:
        raise PageError(f'not a NiceGUI page: {text[:200]!r}')
    raw = elements[1]
    for escaped, plain in UNESCAPE:
        raw = raw.replace(escaped, plain)
    return json.loads(raw), ast.literal_eval(query[1])  # the query is a Python dict literal (True, not true)


def texts_of(element: dict) -> list[str]:
    """What an element shows as text: its text and the string values of its props (a label, a row's name…)."""
    found = [element['text']] if element.get('text') else []
    found.extend(value for value in (element.get('props') or {}).values() if isinstance(value, str))
    return found


class NiceGUIPage:
    """One open page: its element tree, its socket, and ways to act on it and to wait for what it shows."""

    def __init__(self, http: httpx.AsyncClient, base: str, path: str) -> None:
        self.http, self.base, self.path = http, base, path
        self.elements: dict[str, dict] = {}
        self.query: dict = {}
        self.client_id = ''
        self.next_message_id = 0
        self.method_calls: list[MethodCall] = []
        self.updated_at: dict[str, float] = {}  # element id → when an update last replaced it
        self.stats = PageStats()
        self.connected = False
        self.last_message_at = 0.0
        self._waiters: list[Waiter] = []
        self._sio = socketio.AsyncClient(reconnection=False)
        self._ack_task: asyncio.Task | None = None
        self._acked = -1
        for event in ('update', 'run_javascript', 'notify', 'open', 'load_js_components', 'download'):
            self._sio.on(event, self._handler(event))
        self._sio.on('disconnect', self._on_disconnect)

    @classmethod
    async def open(cls, http: httpx.AsyncClient, base: str, path: str, *, within_s: float = 30) -> 'NiceGUIPage':
        page = cls(http, base, path)
        await page.load(within_s=within_s)
        return page

    async def load(self, *, within_s: float = 30) -> None:
        response = await self.http.get(f'{self.base}{self.path}', timeout=within_s)
        if response.status_code != 200:
            raise PageError(f'GET {self.path} answered {response.status_code}: {response.text[:200]!r}')
        self.path = response.url.raw_path.decode()  # after redirects (e.g. /login)
        self.elements, self.query = parse_page(response.text)
        self.client_id = self.query['client_id']
        self.next_message_id = int(self.query['next_message_id'])
        query = {
            **self.query,
            'implicit_handshake': str(self.query.get('implicit_handshake', True)).lower(),
            'document_id': str(uuid.uuid4()),
            'tab_id': str(uuid.uuid4()),
        }
        cookies = '; '.join(f'{name}={value}' for name, value in self.http.cookies.items())
        await self._sio.connect(
            f'{self.base}/?{httpx.QueryParams(query)}',
            socketio_path=SOCKETIO_PATH,
            transports=['websocket'],
            headers={'Cookie': cookies} if cookies else {},
            wait_timeout=within_s,
        )
        self.connected = True
        self._ack_task = asyncio.create_task(self._ack_loop())

    async def close(self) -> None:
        """Close the tab: the socket disconnects, and NiceGUI deletes the client after its reconnect_timeout."""
        if self._ack_task:
            self._ack_task.cancel()
        self.connected = False  # a disconnect we asked for is not counted
        with contextlib.suppress(Exception):
            await self._sio.disconnect()
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_exception(PageError('the page was closed'))
        self._waiters.clear()

    # --- finding elements -----------------------------------------------------------------------------------

    def find(
        self, *, tag: str | None = None, text: str | None = None, contains: str | None = None, **props
    ) -> list[tuple[str, dict]]:
        """Elements (id, dict) whose tag ends with `tag`, whose text or a string prop equals `text` (or contains
        `contains`), and whose props hold `props` (an underscore in a key stands for a dash: aria_label)."""
        wanted = {key.replace('_', '-'): value for key, value in props.items()}
        found = []
        for element_id, element in self.elements.items():
            if tag is not None and not element['tag'].endswith(tag):
                continue
            element_props = element.get('props') or {}
            if any(element_props.get(key) != value for key, value in wanted.items()):
                continue
            shown = texts_of(element)
            if text is not None and text not in shown:
                continue
            if contains is not None and not any(contains in part for part in shown):
                continue
            found.append((element_id, element))
        return found

    def one(self, **criteria) -> tuple[str, dict]:
        found = self.find(**criteria)
        if len(found) != 1:
            raise PageError(f'{len(found)} elements match {criteria} on {self.path}')
        return found[0]

    def shows(self, text: str) -> bool:
        """Whether any element's text or string prop contains `text`."""
        return any(text in part for element in self.elements.values() for part in texts_of(element))

    def last_method_call(self, element_id: str, name: str) -> MethodCall | None:
        for call in reversed(self.method_calls):
            if call.element_id == element_id and call.name == name:
                return call
        return None

    # --- acting ---------------------------------------------------------------------------------------------

    async def emit(self, element_id: str, event_type: str, *args) -> float:
        """Fire the element's listener for `event_type` as the browser does; returns perf_counter() just before."""
        element = self.elements[element_id]
        listeners = [listener for listener in element.get('events', []) if listener['type'] == event_type]
        if not listeners:
            raise PageError(f'element {element_id} ({element["tag"]}) has no {event_type!r} listener')
        started = time.perf_counter()
        for listener in listeners:
            wanted = listener.get('args')
            sent = args if wanted is None else args[: len(wanted)]
            message = {
                'id': int(element_id),
                'client_id': self.client_id,
                'listener_id': listener['listener_id'],
                'args': [json.dumps(arg) for arg in sent],
            }
            await self._sio.emit('event', message)
        return started

    def expect(self, predicate: Predicate) -> asyncio.Future:
        """A future of the perf_counter() time of the first message after which `predicate(self)` holds."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(Waiter(predicate, future))
        return future

    async def wait_for(self, predicate: Predicate, *, within_s: float = 30) -> float:
        if predicate(self):
            return time.perf_counter()
        return await self.wait(self.expect(predicate), within_s=within_s)

    async def wait(self, future: asyncio.Future, *, within_s: float = 30) -> float:
        try:
            return await asyncio.wait_for(future, within_s)
        finally:
            self.forget(future)

    def forget(self, future: asyncio.Future) -> None:
        """Stop waiting (a wait that was registered with `expect` but is not needed)."""
        future.cancel()
        self._waiters = [waiter for waiter in self._waiters if waiter.future is not future]

    # --- the wire -------------------------------------------------------------------------------------------

    def _handler(self, event: str):
        async def handle(message: dict) -> None:
            at = time.perf_counter()
            self.last_message_at = at
            message_id = message.pop('_id', None)
            if message_id is not None:
                if message_id < self.next_message_id:
                    self.stats.replays += 1
                    return
                self.next_message_id = message_id + 1
            self.stats.messages += 1
            if event == 'update':
                self.stats.updates += 1
                for element_id, element in message.items():
                    if element is None:
                        self.elements.pop(element_id, None)
                    else:
                        self.elements[element_id] = element
                        self.updated_at[element_id] = at
            elif event == 'run_javascript':
                self._run_javascript(message, at)
            elif event == 'notify':
                self.stats.notifications.append(message)
            elif event == 'open':
                self.stats.navigations.append(message['path'])
            self._check_waiters(at)

        return handle

    def _run_javascript(self, message: dict, at: float) -> None:
        if found := RUN_METHOD.match(message['code'].strip()):
            self.method_calls.append(MethodCall(found[1], json.loads(found[2]), json.loads(found[3]), at))
            del self.method_calls[:-200]
        if request_id := message.get('request_id'):
            asyncio.create_task(self._answer_javascript(request_id))

    async def _answer_javascript(self, request_id: str) -> None:
        with contextlib.suppress(Exception):
            await self._sio.emit('javascript_response', {'request_id': request_id, 'client_id': self.client_id,
                                                         'result': None})  # fmt: skip

    def _check_waiters(self, at: float) -> None:
        for waiter in list(self._waiters):
            if waiter.future.done():
                continue
            try:
                if waiter.predicate(self):
                    waiter.future.set_result(at)
            except Exception as error:  # a predicate that fails is the caller's bug: say it at the wait
                waiter.future.set_exception(error)

    async def _on_disconnect(self, *_) -> None:
        if self.connected:
            self.stats.disconnects += 1
            self.connected = False
            for waiter in self._waiters:
                if not waiter.future.done():
                    waiter.future.set_exception(PageError('the socket disconnected'))

    async def _ack_loop(self) -> None:
        while True:
            await asyncio.sleep(ACK_EVERY_S)
            if self.connected and self._acked < self.next_message_id:
                with contextlib.suppress(Exception):
                    await self._sio.emit('ack', {'client_id': self.client_id, 'next_message_id': self.next_message_id})
                    self._acked = self.next_message_id


async def log_in(http: httpx.AsyncClient, base: str, email: str, password: str, *, within_s: float = 30) -> None:
    """Log in as a browser does, over NiceGUI's socket: fill /login's Email and Password, click "Log in", and follow
    the navigation the server sends (GET /login/complete?ticket=…, which sets the session cookie in `http`)."""
    page = await NiceGUIPage.open(http, base, '/login', within_s=within_s)
    try:
        for label, value in (('Email', email), ('Password', password)):
            element_id, _ = page.one(tag='input', label=label)
            await page.emit(element_id, 'update:value', value)
        button, _ = page.one(tag='q-btn', label='Log in')
        navigated = page.expect(lambda page: bool(page.stats.navigations))
        await page.emit(button, 'click')
        await page.wait(navigated, within_s=within_s)
        target = page.stats.navigations[-1]
    finally:
        await page.close()
    response = await http.get(f'{base}{target}', timeout=within_s, follow_redirects=False)
    if response.status_code != 303 or not response.headers.get('location', '').endswith('/admin'):
        raise PageError(f'logging in {email} ended at {response.status_code} {response.headers.get("location")}')

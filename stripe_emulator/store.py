"""Persistence: one SQLite file of JSON documents, kept apart from the host application's database.

All access goes through one connection guarded by a re-entrant lock, so a request handler's writes form a
single transaction (a declined card rolls everything back) and callers on other threads stay safe.
SQLite calls take microseconds, so they run inline on the event loop.
"""

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_type_seq ON objects (type, seq);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    params TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    request_id TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    delivered_at REAL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (delivered_at, id);
"""

# Stripe keeps idempotency keys for at least 24 hours.
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


class Not:
    """A list filter meaning "field differs from value"."""

    def __init__(self, value: Any) -> None:
        self.value = value


@dataclass
class IdempotencyRecord:
    method: str
    path: str
    params: str
    status: int
    body: str
    request_id: str


@dataclass
class Delivery:
    id: int
    event_id: str
    attempts: int
    next_attempt_at: float


# The database and the files SQLite keeps beside it.
_SIDE_FILES = ('', '-wal', '-shm', '-journal')


class Store:
    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        # Created readable by us only; SQLite gives its -wal and -shm files the database's own mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        _private(path)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute('PRAGMA journal_mode=WAL')
        # NORMAL is durable across application crashes in WAL mode; only a power cut may lose the last commit.
        self._db.execute('PRAGMA synchronous=NORMAL')
        self._db.executescript(_SCHEMA)
        self._db.execute('DELETE FROM idempotency WHERE created < ?', (time.time() - IDEMPOTENCY_TTL_SECONDS,))
        _private(path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute('BEGIN IMMEDIATE')
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute('ROLLBACK')
                raise
            else:
                self._db.execute('COMMIT')
            finally:
                self._depth = 0

    # --- objects -------------------------------------------------------------------------------------------

    def get(self, object_id: str, object_type: str | None = None) -> dict | None:
        with self._lock:
            row = self._db.execute('SELECT type, doc FROM objects WHERE id = ?', (object_id,)).fetchone()
        if row is None or (object_type is not None and row[0] != object_type):
            return None
        return json.loads(row[1])

    def put(self, doc: dict) -> dict:
        """Insert or replace a document; a replaced document keeps its place in list order."""
        with self._lock:
            self._db.execute(
                'INSERT INTO objects (id, type, doc) VALUES (?, ?, ?) '
                'ON CONFLICT (id) DO UPDATE SET doc = excluded.doc',
                (doc['id'], doc['object'], json.dumps(doc, separators=(',', ':'))),
            )
        return doc

    def delete(self, object_id: str) -> None:
        with self._lock:
            self._db.execute('DELETE FROM objects WHERE id = ?', (object_id,))

    def find(
        self, object_type: str, filters: dict[str, Any] | None = None, *, oldest_first: bool = False
    ) -> list[dict]:
        where, args = _where(object_type, filters)
        order = 'ASC' if oldest_first else 'DESC'
        with self._lock:
            sql = f'SELECT doc FROM objects WHERE {where} ORDER BY seq {order}'  # noqa: S608 (see _where)
            rows = self._db.execute(sql, args).fetchall()
        return [json.loads(row[0]) for row in rows]

    def page(
        self,
        object_type: str,
        filters: dict[str, Any] | None,
        *,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> tuple[list[dict], bool] | None:
        """One page, newest first, like Stripe's lists. None when the cursor object does not exist."""
        where, args = _where(object_type, filters)
        order = 'DESC'
        cursor_id = starting_after or ending_before
        with self._lock:
            if cursor_id:
                row = self._db.execute('SELECT seq FROM objects WHERE id = ?', (cursor_id,)).fetchone()
                if row is None:
                    return None
                if starting_after:
                    where += ' AND seq < ?'
                else:
                    where += ' AND seq > ?'
                    order = 'ASC'  # walk towards newer objects, then present them newest first
                args.append(row[0])
            sql = f'SELECT doc FROM objects WHERE {where} ORDER BY seq {order} LIMIT ?'  # noqa: S608 (see _where)
            rows = self._db.execute(sql, [*args, limit + 1]).fetchall()
        docs = [json.loads(row[0]) for row in rows[:limit]]
        if order == 'ASC':
            docs.reverse()
        return docs, len(rows) > limit

    # --- idempotency ---------------------------------------------------------------------------------------

    def idempotency_get(self, key: str) -> IdempotencyRecord | None:
        with self._lock:
            row = self._db.execute(
                'SELECT method, path, params, status, body, request_id FROM idempotency WHERE key = ?', (key,)
            ).fetchone()
        return IdempotencyRecord(*row) if row else None

    def idempotency_put(self, key: str, record: IdempotencyRecord) -> None:
        with self._lock:
            self._db.execute(
                'INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                (
                    key,
                    record.method,
                    record.path,
                    record.params,
                    record.status,
                    record.body,
                    record.request_id,
                    time.time(),
                ),
            )

    # --- webhook deliveries --------------------------------------------------------------------------------

    def enqueue_delivery(self, event_id: str) -> None:
        with self._lock:
            self._db.execute('INSERT INTO deliveries (event_id, next_attempt_at) VALUES (?, ?)', (event_id, 0.0))

    def next_delivery(self) -> Delivery | None:
        """The oldest undelivered delivery: events go out strictly in the order they happened."""
        with self._lock:
            row = self._db.execute(
                'SELECT id, event_id, attempts, next_attempt_at FROM deliveries '
                'WHERE delivered_at IS NULL ORDER BY id LIMIT 1'
            ).fetchone()
        return Delivery(*row) if row else None

    def delivery_succeeded(self, delivery_id: int) -> None:
        with self._lock:
            self._db.execute(
                'UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?',
                (time.time(), delivery_id),
            )

    def delivery_failed(self, delivery_id: int, *, next_attempt_at: float, error: str) -> None:
        with self._lock:
            self._db.execute(
                'UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?',
                (next_attempt_at, error, delivery_id),
            )

    def pending_deliveries(self, event_id: str | None = None) -> int:
        sql = 'SELECT COUNT(*) FROM deliveries WHERE delivered_at IS NULL'
        args: tuple = ()
        if event_id is not None:
            sql += ' AND event_id = ?'
            args = (event_id,)
        with self._lock:
            return self._db.execute(sql, args).fetchone()[0]


def _private(path: Path) -> None:
    """Mode 0600 for the database and its side files, also when an older version left them readable by others."""
    for suffix in _SIDE_FILES:
        try:
            os.chmod(f'{path}{suffix}', 0o600)
        except FileNotFoundError:
            pass


def _where(object_type: str, filters: dict[str, Any] | None) -> tuple[str, list]:
    # Filter paths are constants written in the resource modules; every value is a bound parameter.
    clauses = ['type = ?']
    args: list = [object_type]
    for path, value in (filters or {}).items():
        column = f"json_extract(doc, '$.{path}')"
        if isinstance(value, Not):
            clauses.append(f'({column} IS NULL OR {column} != ?)')
            args.append(value.value)
        elif isinstance(value, (list, tuple, set)):
            values = list(value)
            clauses.append(f'{column} IN ({", ".join("?" * len(values))})' if values else '0')
            args.extend(values)
        elif value is None:
            clauses.append(f'{column} IS NULL')
        else:
            clauses.append(f'{column} = ?')
            args.append(value)
    return ' AND '.join(clauses), args

"""SQLite's connections, transactions and error translation: its ``Store``.

One connection per thread (``sqlite3`` connections are not shared between threads), in WAL mode
so that readers never wait for the writer. Every write transaction begins with ``BEGIN
IMMEDIATE``, which takes the database's single write lock up front and so cannot deadlock.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from workhorse.backends import base as b
from workhorse.backends.ops import graph
from workhorse.backends.ops.jobs import insert_checked
from workhorse.backends.sqlite.statements import SQLiteTx
from workhorse.backends.sqlite.values import VALUES
from workhorse.backends.store import Params, Row, Tx
from workhorse.errors import ConfigurationError, DatabaseError, SchemaError

T = TypeVar("T")

_SYNCHRONOUS = {"off", "normal", "full", "extra"}


class SQLiteStore:
    """One SQLite file, shared safely by threads and processes."""

    values = VALUES
    unique_violation = sqlite3.IntegrityError
    migrations = "workhorse.backends.sqlite.migrations"

    def __init__(self, url: str) -> None:
        self.path, self._synchronous, self._busy_timeout = _parse_url(url)
        self.name = self.path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    # -- connections -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise DatabaseError("the backend is closed")
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            self._enable_wal(conn)
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path) from None
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL. SQLite does not apply the busy timeout to this pragma, so while another
        connection writes to a file not yet in WAL mode, retry until ``busy_timeout``."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the lock up front so it cannot deadlock."""
        conn = self._conn()
        try:
            self._begin(conn)
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path) from None
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path) from None

    def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, retried every few milliseconds while another process writes.

        SQLite's own busy handler backs off to 100 ms sleeps, so under steady contention a
        waiting writer (an enqueue among busy workers) keeps losing the lock to writers that
        retry sooner; short jittered sleeps keep the wait close to the time the lock is held.
        """
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.0005
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 1.5, 0.005)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")

    def read(self, name: str, params: Params | None = None) -> list[Row]:
        """Without a transaction: WAL readers take no lock."""
        try:
            return SQLiteTx(self._conn()).all(name, params)
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path) from None

    def write(self, name: str, params: Params | None = None) -> list[Row]:
        with self.transaction() as tx:
            return tx.all(name, params)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._write() as conn:
            yield SQLiteTx(conn)

    def run_outside(self, work: Callable[[SQLiteTx], T]) -> T:
        """``work`` on this thread's connection outside a transaction: its reads take no lock
        (WAL), and it opens the write transaction itself (``writing``) where it needs one."""
        try:
            return work(SQLiteTx(self._conn()))
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path) from None

    @contextmanager
    def writing(self) -> Iterator[bool]:
        """A write transaction on this thread's connection unless one is open there; yields
        whether it opened one."""
        if self._conn().in_transaction:
            yield False
            return
        with self._write():
            yield True

    @contextmanager
    def snapshot(self) -> Iterator[Tx]:
        """A read transaction: one consistent snapshot (WAL), without the write lock."""
        conn = self._conn()
        try:
            conn.execute("BEGIN")
            yield SQLiteTx(conn)
        except sqlite3.DatabaseError as exc:
            raise _translate(exc, self.path) from None
        finally:
            conn.execute("COMMIT")

    def migrating(self) -> AbstractContextManager[Tx]:
        """The write lock that every transaction takes keeps other migrate runs out."""
        return self.transaction()

    def notify(self, tx: Tx, queues: Collection[str]) -> None:
        """Nothing to send: idle workers watch ``PRAGMA data_version``, which every commit
        changes (see ``listener``)."""

    def insert_in(self, tx: Tx, jobs: Sequence[b.NewJob], now: datetime) -> list[b.InsertedJob]:
        inserted = insert_checked(tx, jobs, now)
        graph.link(self, tx, jobs, inserted, now)
        return inserted


def _parse_url(url: str) -> tuple[str, str, float]:
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise ConfigurationError(f"not a sqlite URL: {url!r}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if parts.netloc or not path:
        raise ConfigurationError(
            f"bad SQLite URL {url!r}: use sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    if path == ":memory:":
        raise ConfigurationError(
            "sqlite:///:memory: cannot be shared by workers; use a file such as sqlite:///./jobs.db"
        )
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    synchronous = query.pop("synchronous", "normal").lower()
    if synchronous not in _SYNCHRONOUS:
        raise ConfigurationError(f"synchronous must be one of {sorted(_SYNCHRONOUS)}")
    try:
        busy_timeout = float(query.pop("busy_timeout", "30"))
    except ValueError:
        raise ConfigurationError("busy_timeout must be a number of seconds") from None
    if query:
        raise ConfigurationError(f"unknown SQLite URL options: {sorted(query)}")
    return path, synchronous, busy_timeout


def _translate(exc: sqlite3.DatabaseError, path: str) -> DatabaseError:
    message = str(exc)
    if "file is not a database" in message or "malformed" in message:
        return SchemaError(f"{path} is not a Workhorse SQLite database ({message})")
    if "unable to open" in message:
        parent = Path(path).parent
        hint = f" (directory {parent} does not exist)" if not parent.exists() else ""
        return DatabaseError(f"cannot open SQLite database {path}{hint}")
    if "no such table" in message:
        return SchemaError(f"{path} has no Workhorse schema; run `workhorse migrate`")
    return DatabaseError(f"SQLite error on {path}: {message}")

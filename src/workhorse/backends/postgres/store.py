"""PostgreSQL's connections, transactions and error translation: its ``Store``.

psycopg 3 (sync, with a connection pool): the Backend Protocol is synchronous, psycopg's array
and JSON adaptation make batches one round trip each, it speaks LISTEN/NOTIFY, and it is the
driver users' own code (and SQLAlchemy) most often hands us for transactional enqueue. Pooled
connections are in autocommit mode: a single statement is its own transaction, with no BEGIN and
COMMIT round trips, and ``transaction`` opens one where several statements need it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

import psycopg
from psycopg.abc import Buffer
from psycopg.rows import dict_row
from psycopg.types.array import ListBinaryDumper
from psycopg.types.datetime import DateLoader
from psycopg.types.json import set_json_loads
from psycopg_pool import PoolTimeout

from workhorse.backends import base as b
from workhorse.backends.health import DatabaseHealth
from workhorse.backends.ops import graph
from workhorse.backends.postgres import inserts
from workhorse.backends.postgres.connecting import PromptPool, looks_alive, parse_url
from workhorse.backends.postgres.statements import PostgresTx, notify
from workhorse.backends.postgres.values import VALUES
from workhorse.backends.store import Params, Row, Tx
from workhorse.errors import ConfigurationError, DatabaseError, SchemaError
from workhorse.redact import redact_url
from workhorse.serialization import loads

log = logging.getLogger("workhorse.postgres")

T = TypeVar("T")


_ADMIN_COMMAND = "terminating connection due to administrator command"


class ServerEndedError(DatabaseError):
    """PostgreSQL ended the connection (shut down, restarting) before the statement committed."""


class MovedRowError(DatabaseError):
    """A job the statement waited for was moved to another partition (it ended, or was retried)
    by the transaction it waited on; PostgreSQL cannot follow it there and rolled back.

    A row that ends moves from workhorse_jobs_live to its day's partition. A statement that had
    to wait for that row's lock (a heartbeat behind the finish of one of its jobs) sees the row
    gone from where it looked and fails with a serialization failure, where an update in place
    would have let it re-check the new version. Run again, it no longer finds the row."""

    retries = 3


class PostgresStore:
    """One PostgreSQL database through a pool of autocommit connections."""

    values = VALUES
    unique_violation = psycopg.errors.UniqueViolation
    migrations = "workhorse.backends.postgres.migrations"

    def __init__(self, url: str) -> None:
        self.name = redact_url(url)
        self.settings = parse_url(url)
        self.conninfo = self.settings.conninfo
        self.health = DatabaseHealth(self.name)
        self._pool = PromptPool(
            self.conninfo,
            min_size=self.settings.pool_min,
            max_size=self.settings.pool_max,
            timeout=self.settings.pool_timeout,
            kwargs={"row_factory": dict_row, **self.settings.connect_kwargs},
            configure=_configure,
            open=False,
            name="workhorse",
        )
        _probe(self.conninfo, self.name)
        try:
            self._pool.open(wait=True, timeout=self.settings.pool_timeout)
        except PoolTimeout:
            self._pool.close()
            raise DatabaseError(f"cannot connect to PostgreSQL at {self.name}") from None

    @contextmanager
    def connection(self) -> Iterator[PostgresTx]:
        """A live pooled connection on which each statement is its own transaction.

        While the database is down, waits for it up to the pool timeout (the pool reconnects in
        the background). Database errors come out as Workhorse errors."""
        conn = self._live_connection()
        try:
            yield PostgresTx(conn)
        except psycopg.Error as exc:
            translated = self._translated(exc)
            if translated is None:
                raise
            raise translated from None
        finally:
            self._pool.putconn(conn)
        self.health.reached()

    def _live_connection(self) -> psycopg.Connection[Any]:
        """A pooled connection that has not been closed under us, within the pool timeout.

        Connections the server closed while they were idle (restart, failover) are dropped
        here, before any statement is sent on them, and the pool replaces them."""
        try:
            while True:
                conn = self._pool.getconn()
                if looks_alive(conn):
                    return conn
                conn.close()
                self._pool.putconn(conn)
        except PoolTimeout:
            why = f"no connection within {self.settings.pool_timeout:g}s"
            self.health.unreachable(why)
            raise DatabaseError(f"PostgreSQL at {self.name} is unavailable: {why}") from None

    def _translated(self, exc: psycopg.Error) -> Exception | None:
        """The Workhorse error for a database error (None: raise it as it is)."""
        if isinstance(exc, psycopg.errors.SerializationFailure):
            return MovedRowError(f"PostgreSQL error: {_first_line(exc)}")
        if isinstance(exc, psycopg.errors.UndefinedTable):
            what = exc.diag.message_primary or "a table is missing"
            return SchemaError(f"no Workhorse schema ({what}); run `workhorse migrate`")
        if isinstance(exc, psycopg.DataError):
            what = exc.diag.message_primary or type(exc).__name__
            return ConfigurationError(f"PostgreSQL refused a value: {what}")
        if isinstance(exc, psycopg.OperationalError):
            if _lost_connection(exc):
                self.health.unreachable(_first_line(exc))
            kind = ServerEndedError if _ended_before_commit(exc) else DatabaseError
            return kind(f"PostgreSQL error: {_first_line(exc)}")
        return None

    def run(self, step: Callable[[PostgresTx], T]) -> T:
        """``step`` on a pooled connection; run once more on another when the server ended the
        first one (a restart, a failover) before the step's work committed, and up to
        ``MovedRowError.retries`` times when a row it waited for moved partitions.

        Only an error the server sent proves the step's work rolled back: a connection that just
        broke may have lost the answer of a commit, and that step is not run again. ``step`` is
        one statement or one transaction, so that a rollback undoes all of it."""
        ended = moved = 0
        while True:
            try:
                with self.connection() as tx:
                    return step(tx)
            except ServerEndedError as exc:
                ended += 1
                if ended > 1:
                    raise
                log.info("retrying once on a new connection: %s", exc)
            except MovedRowError as exc:
                moved += 1
                if moved > MovedRowError.retries:
                    raise
                log.debug("retrying after a concurrent move: %s", exc)

    def read(self, name: str, params: Params | None = None) -> list[Row]:
        return self.run(lambda tx: tx.all(name, params))

    def write(self, name: str, params: Params | None = None) -> list[Row]:
        """On an autocommit connection, as ``read``: the statement is its own transaction (no
        BEGIN and COMMIT round trips; VACUUM needs that, too)."""
        return self.read(name, params)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.connection() as tx, tx.conn.transaction():
            yield tx

    @contextmanager
    def snapshot(self) -> Iterator[Tx]:
        with self.transaction() as tx:
            tx.count("snapshot_begin")
            yield tx

    @contextmanager
    def migrating(self) -> Iterator[Tx]:
        with self.transaction() as tx:
            tx.count("schema_lock")
            tx.count("schema_unbounded")
            yield tx

    def notify(self, tx: Tx, queues: Collection[str]) -> None:
        """NOTIFY is delivered when ``tx`` commits, never before the jobs are visible."""
        notify(tx, queues)

    def insert_in(self, tx: Tx, jobs: Sequence[b.NewJob], now: datetime) -> list[b.InsertedJob]:
        inserted = inserts.insert_in(tx, jobs, now)
        graph.link(self, tx, jobs, inserted, now)
        return inserted

    def close(self) -> None:
        self._pool.close()


def _probe(conninfo: str, name: str) -> None:
    """Connect once, so an unreachable server is one clear error, not pool retries in the logs."""
    try:
        psycopg.connect(conninfo, connect_timeout=5).close()
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to PostgreSQL at {name}: {_first_line(exc)}") from None


def _ended_before_commit(exc: psycopg.OperationalError) -> bool:
    """Whether the server ended the session at a point where it rolls back what it was running.

    ``pg_terminate_backend`` and a fast shutdown (restart, switchover) end a session only where
    its backend checks for interrupts, never inside a commit, and a commit already made is
    answered before the end. An immediate shutdown or a crash (same SQLSTATE class, another
    message) may cut a commit's answer off, and a commit waiting for a synchronous standby is
    cut off without any message: neither is run again. A server whose messages are translated
    (``lc_messages``) is never retried, the safe side."""
    return exc.sqlstate == "57P01" and exc.diag.message_primary == _ADMIN_COMMAND


def _lost_connection(exc: psycopg.OperationalError) -> bool:
    """Whether ``exc`` means the server went away (rather than, say, a statement timeout)."""
    state = exc.sqlstate or ""
    return not state or state.startswith(("08", "57P"))


def _first_line(exc: psycopg.Error) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _EndedOnLoader(DateLoader):
    """Dates as psycopg reads them, and 'infinity' (a live job's ``ended_on``) as ``date.max``:
    psycopg refuses to read a date past year 9999."""

    def load(self, data: Buffer) -> date:
        if bytes(data) == b"infinity":
            return date.max
        return super().load(data)


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Decode json/jsonb columns with orjson (integers beyond 64 bits kept exact), read the
    'infinity' date, and send lists as binary arrays: the text format quotes every element,
    which for the claim's arrays of tenant names cost more time in Python than the statements'
    round trips."""
    set_json_loads(loads, conn)
    conn.adapters.register_loader("date", _EndedOnLoader)
    conn.adapters.register_dumper(list, ListBinaryDumper)

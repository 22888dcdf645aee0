"""PostgreSQL's connections, transactions and error translation: its ``Store``.

psycopg 3 (sync, with a connection pool): the Backend Protocol is synchronous, psycopg's array
and JSON adaptation make batches one round trip each, it speaks LISTEN/NOTIFY, and it is the
driver users' own code (and SQLAlchemy) most often hands us for transactional enqueue. Pooled
connections are in autocommit mode: a single statement is its own transaction, with no BEGIN and
COMMIT round trips, and ``transaction`` opens one where several statements need it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from workhorse.backends import base as b
from workhorse.backends.ops import graph
from workhorse.backends.postgres import inserts
from workhorse.backends.postgres.statements import PostgresTx, notify
from workhorse.backends.postgres.values import VALUES
from workhorse.backends.store import Params, Row, Tx
from workhorse.errors import ConfigurationError, DatabaseError, SchemaError
from workhorse.redact import redact_url
from workhorse.serialization import loads

_OPTIONS = {"pool_min", "pool_max", "pool_timeout"}


class PostgresStore:
    """One PostgreSQL database through a pool of autocommit connections."""

    values = VALUES
    unique_violation = psycopg.errors.UniqueViolation
    migrations = "workhorse.backends.postgres.migrations"

    def __init__(self, url: str) -> None:
        self.name = redact_url(url)
        self.conninfo, options = _parse_url(url)
        self._pool = ConnectionPool(
            self.conninfo,
            min_size=options["pool_min"],
            max_size=options["pool_max"],
            timeout=options["pool_timeout"],
            kwargs={"row_factory": dict_row, "connect_timeout": 5, "autocommit": True},
            configure=_configure,
            open=False,
            name="workhorse",
        )
        _probe(self.conninfo, self.name)
        try:
            self._pool.open(wait=True, timeout=options["pool_timeout"])
        except PoolTimeout:
            self._pool.close()
            raise DatabaseError(f"cannot connect to PostgreSQL at {self.name}") from None

    @contextmanager
    def connection(self) -> Iterator[PostgresTx]:
        """A pooled connection on which each statement is its own transaction. Database errors
        come out as Workhorse errors."""
        try:
            with self._pool.connection() as conn:
                yield PostgresTx(conn)
        except PoolTimeout:
            raise DatabaseError(f"no PostgreSQL connection available at {self.name}") from None
        except psycopg.errors.UndefinedTable as exc:
            what = exc.diag.message_primary or "a table is missing"
            raise SchemaError(f"no Workhorse schema ({what}); run `workhorse migrate`") from None
        except psycopg.DataError as exc:
            what = exc.diag.message_primary or type(exc).__name__
            raise ConfigurationError(f"PostgreSQL refused a value: {what}") from None
        except psycopg.OperationalError as exc:
            raise DatabaseError(f"PostgreSQL error: {_first_line(exc)}") from None

    def read(self, name: str, params: Params | None = None) -> list[Row]:
        with self.connection() as tx:
            return tx.all(name, params)

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


def _parse_url(url: str) -> tuple[str, dict[str, Any]]:
    """Split Workhorse's own options (pool_min, pool_max, pool_timeout) off a libpq URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgresql", "postgres"}:
        raise ConfigurationError(f"not a PostgreSQL URL: {redact_url(url)}")
    query = parse_qs(parts.query)
    options: dict[str, Any] = {"pool_min": 1, "pool_max": 10, "pool_timeout": 10.0}
    try:
        for key in _OPTIONS & query.keys():
            options[key] = (float if key == "pool_timeout" else int)(query.pop(key)[-1])
    except ValueError:
        raise ConfigurationError(f"bad pool option in {redact_url(url)}") from None
    if not 1 <= options["pool_min"] <= options["pool_max"]:
        raise ConfigurationError("need 1 <= pool_min <= pool_max")
    rest = urlencode([(k, v) for k, values in query.items() for v in values])
    return urlunsplit(("postgresql", parts.netloc, parts.path, rest, parts.fragment)), options


def _probe(conninfo: str, name: str) -> None:
    """Connect once, so an unreachable server is one clear error, not pool retries in the logs."""
    try:
        psycopg.connect(conninfo, connect_timeout=5).close()
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to PostgreSQL at {name}: {_first_line(exc)}") from None


def _first_line(exc: psycopg.Error) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Decode json/jsonb columns with orjson (integers beyond 64 bits kept exact)."""
    set_json_loads(loads, conn)

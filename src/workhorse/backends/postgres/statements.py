"""PostgreSQL's named SQL blocks, loaded once for the package, and how they run on a connection."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import args_row, dict_row

from workhorse.backends.postgres.values import VALUES
from workhorse.backends.sql import load_blocks
from workhorse.backends.store import Params, Row, Tx
from workhorse.errors import ConfigurationError

QUERIES = load_blocks("workhorse.backends.postgres", "queries.sql")

T = TypeVar("T")


class PostgresTx:
    """Named statements on one connection: a pooled one, or the caller's own (whatever its row
    factory, rows come back as dicts)."""

    values = VALUES

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def _run(self, name: str, params: Params | None) -> psycopg.Cursor[Row]:
        return self.conn.cursor(row_factory=dict_row).execute(QUERIES[name], params)

    def all(self, name: str, params: Params | None = None) -> list[Row]:
        cursor = self._run(name, params)
        return cursor.fetchall() if cursor.description is not None else []

    def built(self, name: str, params: Params, make: Callable[..., T]) -> list[T]:
        """The rows, each built by ``make`` from its columns in order (the statement's SELECT
        list is ``make``'s parameters), read in binary: no dict per row, and no number or time
        parsed from text. For the claim's reads of many rows, whose columns hold no date or JSON
        (this package reads those with loaders of its own, in text)."""
        cursor = self.conn.cursor(row_factory=args_row(make))
        return cursor.execute(QUERIES[name], params, binary=True).fetchall()

    def one(self, name: str, params: Params | None = None) -> Row | None:
        return self._run(name, params).fetchone()

    def count(self, name: str, params: Params | None = None) -> int:
        return self._run(name, params).rowcount

    def send(self, name: str, params: Params | None = None) -> None:
        """A statement whose answer is not read."""
        self._run(name, params)

    def script(self, sql: str) -> None:
        self.conn.execute(sql.encode())  # bytes: run as written, several statements at once

    @contextmanager
    def atomic(self, settings: Mapping[str, str] | None = None) -> Iterator[bool]:
        """Make what follows one transaction; yields whether it opened one. A connection in a
        transaction already, or one not in autocommit mode (the caller's, whose transaction
        holds what follows until the caller commits it), is left as it is.

        ``settings`` hold for the transaction only (``SET LOCAL``), sent with its BEGIN in one
        round trip (psycopg's own BEGIN would take a round trip of its own, and each SET one
        more)."""
        idle = self.conn.info.transaction_status == TransactionStatus.IDLE
        if not (self.conn.autocommit and idle):
            yield False
        elif not settings:
            with self.conn.transaction():
                yield True
        else:
            with self._local(settings):
                yield True

    @contextmanager
    def _local(self, settings: Mapping[str, str]) -> Iterator[None]:
        # Names and values are this package's constants, never input: written into the text.
        sets = "".join(f"; SET LOCAL {name} TO {value}" for name, value in settings.items())
        self.conn.execute(f"BEGIN{sets}".encode())
        try:
            yield
        except BaseException:
            if not self.conn.broken:
                with suppress(psycopg.Error):
                    self.conn.execute(b"ROLLBACK")
            raise
        self.conn.execute(b"COMMIT")


def notify(tx: Tx, queues: Collection[str]) -> None:
    """Wake listening workers of ``queues`` when ``tx``'s transaction commits."""
    if queues:
        tx.count("job_notify", {"queues": sorted(queues)})


def caller_connection(connection: object) -> PostgresTx:
    """The caller's own connection, for an enqueue inside the caller's transaction."""
    if not isinstance(connection, psycopg.Connection):
        raise ConfigurationError(
            "transactional enqueue needs a psycopg 3 Connection (for SQLAlchemy: "
            "session.connection().connection.driver_connection)"
        )
    return PostgresTx(connection)

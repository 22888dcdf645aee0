"""What a database supplies so that an operation is written once for both: a ``Store``.

The operations in ``workhorse.backends.ops`` (and the fair claim in ``claiming``) are algorithms
over named SQL blocks. Each database keeps its own SQL, one block of the same name per step, and
provides a Store: how it reads, writes and opens transactions, how it converts values, how it
wakes workers. PostgreSQL gives aware datetimes, arrays and decoded jsonb; SQLite epoch floats,
JSON text and 0/1 integers; a ``Values`` hides the difference from the row mapping in ``rows``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeAlias

from workhorse.backends import base as b
from workhorse.types import JSON

Params: TypeAlias = Mapping[str, Any]
"""A statement's parameters, by name."""

Row: TypeAlias = Any
"""A result row, read by column name (psycopg's ``dict_row``, ``sqlite3.Row``)."""


class Values(Protocol):
    """How one database holds what Python holds as datetimes, lists and JSON."""

    def time(self, value: datetime) -> Any:
        """An aware datetime as a statement parameter."""

    def opt_time(self, value: datetime | None) -> Any:
        """``time``, or NULL for None."""

    def array(self, values: Iterable[Any]) -> Any:
        """A list parameter: what ``= ANY(...)``, ``unnest`` or ``json_each`` reads."""

    def at(self, value: Any) -> datetime:
        """A stored time as an aware UTC datetime."""

    def opt_at(self, value: Any) -> datetime | None:
        """``at``, or None for NULL."""

    def json(self, value: Any) -> JSON:
        """A stored JSON value, decoded (NULL is None)."""

    def elements(self, value: Any) -> list[Any]:
        """A stored list (an array column, or JSON array text) as a list."""

    def flag(self, value: Any) -> bool:
        """A stored boolean."""

    def interval(self, value: Any) -> timedelta | None:
        """A stored duration (an interval, or seconds), or None for NULL."""


class Tx(Protocol):
    """Named statements on one connection: inside a transaction, or each standing alone."""

    @property
    def values(self) -> Values: ...

    def all(self, name: str, params: Params | None = None) -> list[Row]:
        """Run block ``name``; its rows (none for a statement that returns none)."""

    def one(self, name: str, params: Params | None = None) -> Row | None:
        """Run block ``name``; its first row, or None."""

    def count(self, name: str, params: Params | None = None) -> int:
        """Run block ``name``; how many rows it changed."""

    def script(self, sql: str) -> None:
        """Run several statements (a migration) in this transaction."""


class Store(Protocol):
    """One database, as the shared operations use it. Every method is thread-safe."""

    @property
    def values(self) -> Values: ...

    @property
    def unique_violation(self) -> type[Exception]:
        """What the driver raises when a write breaks a unique index."""

    @property
    def migrations(self) -> str:
        """The package holding the numbered migrations."""

    @property
    def name(self) -> str:
        """The database, for messages (never with a password)."""

    def read(self, name: str, params: Params | None = None) -> list[Row]:
        """Run block ``name``, a statement that only reads; its rows."""

    def write(self, name: str, params: Params | None = None) -> list[Row]:
        """Run block ``name``, one statement that writes, as a transaction of its own; the rows
        it returns."""

    def transaction(self) -> AbstractContextManager[Tx]:
        """One write transaction: committed when the block ends, rolled back if it raises."""

    def snapshot(self) -> AbstractContextManager[Tx]:
        """Reads that all see one consistent snapshot."""

    def migrating(self) -> AbstractContextManager[Tx]:
        """A transaction that no other ``migrate`` runs beside."""

    def notify(self, tx: Tx, queues: Collection[str]) -> None:
        """Wake the workers of ``queues`` once ``tx`` commits."""

    def insert_in(self, tx: Tx, jobs: Sequence[b.NewJob], now: datetime) -> list[b.InsertedJob]:
        """``job_insert_many`` inside ``tx``: the same checks, the same wake-ups."""

    def close(self) -> None:
        """Release every connection; the store is unusable afterwards."""

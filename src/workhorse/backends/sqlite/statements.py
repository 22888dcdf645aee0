"""SQLite's named SQL blocks, loaded once for the package, and how they run on a connection."""

from __future__ import annotations

import sqlite3

from workhorse.backends.sql import load_blocks
from workhorse.backends.sqlite.values import VALUES
from workhorse.backends.store import Params, Row
from workhorse.errors import SchemaError

QUERIES = load_blocks("workhorse.backends.sqlite", "queries.sql")


class SQLiteTx:
    """Named statements on one connection, in the transaction the store opened."""

    values = VALUES

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def all(self, name: str, params: Params | None = None) -> list[Row]:
        return self.conn.execute(QUERIES[name], params or {}).fetchall()

    def one(self, name: str, params: Params | None = None) -> Row | None:
        return self.conn.execute(QUERIES[name], params or {}).fetchone()

    def count(self, name: str, params: Params | None = None) -> int:
        return self.conn.execute(QUERIES[name], params or {}).rowcount

    def script(self, sql: str) -> None:
        """Run a migration's statements in this transaction (``executescript`` would commit)."""
        statement = ""
        for line in sql.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                self.conn.execute(statement)
                statement = ""
        if statement.strip() and not statement.strip().startswith("--"):
            raise SchemaError(f"incomplete SQL statement in migration: {statement.strip()[:80]}")

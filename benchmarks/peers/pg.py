"""The PostgreSQL databases the benchmark owns: recreated per run, never anyone else's."""

from __future__ import annotations

import psycopg
from psycopg import sql

import settings


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(settings.database_url("postgres"), autocommit=True, connect_timeout=5)


def recreate_database(name: str) -> None:
    """Drop ``name`` (closing the connections to it: it is ours alone) and create it empty."""
    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def ensure_database(name: str) -> None:
    with _admin() as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def server_version() -> str:
    with _admin() as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


SHARED_WRITERS = ("walwriter", "checkpointer", "background writer")
"""Server processes that write for every database: counted for the PostgreSQL systems."""


def server_pids(name: str) -> list[int]:
    """The backends connected to ``name``, and the server's WAL and buffer writers."""
    with _admin() as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s OR backend_type = ANY(%s)",
            (name, list(SHARED_WRITERS)),
        ).fetchall()
    return [int(row[0]) for row in rows]  # type: ignore[call-overload]

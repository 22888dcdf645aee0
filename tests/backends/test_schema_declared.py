"""The migrated schema equals the declared one (``backends/postgres/schema.sql``)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import psycopg

from pgtest import postgres_schema
from workhorse.backends import open_backend


def _catalog(url: str) -> dict[str, Any]:
    """Storage options, columns, indexes, constraints, functions and triggers of the current
    schema, minus the migrations table."""
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            """
            SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity
            FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name <> 'workhorse_migrations'
            ORDER BY table_name, column_name
            """
        ).fetchall()
        indexes = conn.execute(
            """
            SELECT indexname, replace(indexdef, current_schema() || '.', '')
            FROM pg_indexes
            WHERE schemaname = current_schema() AND tablename <> 'workhorse_migrations'
            ORDER BY indexname
            """
        ).fetchall()
        constraints = conn.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE connamespace = current_schema()::regnamespace
              AND conrelid::regclass::text <> 'workhorse_migrations'
            ORDER BY 1, 2
            """
        ).fetchall()
        functions = conn.execute(
            """
            SELECT proname, replace(pg_get_functiondef(oid), current_schema() || '.', '')
            FROM pg_proc WHERE pronamespace = current_schema()::regnamespace
            ORDER BY proname
            """
        ).fetchall()
        triggers = conn.execute(
            """
            SELECT tgname, replace(pg_get_triggerdef(t.oid), current_schema() || '.', '')
            FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
            WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal
              AND t.tgparentid = 0
            ORDER BY tgname
            """
        ).fetchall()
        options = conn.execute(
            """
            SELECT relname, reloptions FROM pg_class
            WHERE relnamespace = current_schema()::regnamespace AND reloptions IS NOT NULL
            ORDER BY relname
            """
        ).fetchall()
    return {
        "options": options,
        "columns": columns,
        "indexes": indexes,
        "constraints": constraints,
        "functions": functions,
        "triggers": triggers,
    }


def test_migrations_produce_the_declared_schema() -> None:
    declared_sql = (
        resources.files("workhorse.backends.postgres").joinpath("schema.sql").read_text("utf-8")
    )
    with postgres_schema() as migrated_url, postgres_schema() as declared_url:
        open_backend(migrated_url, auto_migrate=True).close()
        with psycopg.connect(declared_url) as conn:
            conn.execute(declared_sql.encode())
        migrated, declared = _catalog(migrated_url), _catalog(declared_url)
    assert migrated["columns"], "the migrations created no tables"
    assert migrated == declared

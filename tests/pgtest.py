"""PostgreSQL for tests: a private schema per test in the local server's ``test`` database.

The server comes from ``WORKHORSE_TEST_POSTGRES_URL`` (default: postgresql://postgres@127.0.0.1:
5432/test). When it is unreachable, tests skip locally but fail in CI (``CI`` set): the PostgreSQL
suites must never be skipped there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from urllib.parse import quote

import psycopg
import pytest

SERVER_URL = os.environ.get(
    "WORKHORSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@cache
def _unreachable_reason() -> str | None:
    try:
        psycopg.connect(SERVER_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def require_postgres() -> None:
    """Skip (locally) or fail (in CI) when the test server cannot be reached."""
    reason = _unreachable_reason()
    if reason is None:
        return
    message = f"PostgreSQL at {SERVER_URL} is unreachable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def schema_url(schema: str) -> str:
    """A URL whose connections use ``schema`` as their search path."""
    separator = "&" if "?" in SERVER_URL else "?"
    return f"{SERVER_URL}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL for a fresh, empty schema, dropped afterwards."""
    require_postgres()
    schema = f"wh_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(schema)
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def migrate_before(url: str, version: int) -> None:
    """Apply the PostgreSQL migrations older than ``version`` to the empty schema of ``url``,
    recorded as ``workhorse migrate`` records them: a database as an older Workhorse left it."""
    from workhorse.backends.postgres.statements import QUERIES
    from workhorse.backends.sql import load_migrations

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(QUERIES["schema_create_migrations"])
        for number, name, sql in load_migrations("workhorse.backends.postgres.migrations"):
            if number >= version:
                break
            with conn.transaction():
                conn.execute(sql.encode())
                now = datetime.now(UTC)
                conn.execute(
                    QUERIES["schema_record_migration"],
                    {"version": number, "name": name, "now": now},
                )

"""The claim sends its lists to PostgreSQL as array text (``array_literal``): every value comes
back as it went, whatever characters a name holds, and a claim serves tenants whose names hold
the characters array text gives a meaning to."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest

from backends.support import T0, Jobs, new_job
from pgtest import SERVER_URL, postgres_schema, require_postgres
from workhorse.backends import open_backend
from workhorse.backends.postgres.values import array_literal

Element = str | int | float | bool | datetime | None

NAMES = ['a"b', "c\\d", "{e}", "f,g", " h ", "NULL", "null", "", "é ü", "i\tj", "k\nl", "m'n"]


@pytest.fixture
def conn() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    require_postgres()
    with psycopg.connect(SERVER_URL, autocommit=True) as connection:
        yield connection


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (NAMES, "text"),
        (["tenant-1", "", "é ü", "a b", "NULL"], "text"),  # none to escape: joined at once
        ([True, False, True], "bool"),
        ([None, None], "text"),
        ([None], "bigint"),
        ([1, -2, 2**62, 0], "bigint"),
        ([1.5, -0.1, 0.1 + 0.2, 1e300, -1e-300, math.inf, -math.inf], "float8"),
        ([True, False, None], "bool"),
        (
            [datetime(2026, 12, 5, 3, 4, 5, 678901, tzinfo=UTC), None],
            "timestamptz",
        ),
        ([datetime(2026, 12, 5, 3, 4, 5, tzinfo=timezone(timedelta(hours=-7)))], "timestamptz"),
        ([], "text"),
    ],
)
def test_array_literal_round_trips(
    conn: psycopg.Connection[tuple[object, ...]], values: list[Element], kind: str
) -> None:
    row = conn.execute(f"SELECT %s::{kind}[]", [array_literal(values)]).fetchone()
    assert row is not None
    assert row[0] == values


def test_a_claim_serves_tenants_named_with_array_texts_own_characters() -> None:
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        tenants = [name or "empty-is-refused" for name in NAMES]
        jobs.insert_many([new_job(T0, tenant=name) for name in tenants])
        claimed = jobs.claim(limit=len(tenants))
        assert sorted(job.tenant for job in claimed) == sorted(tenants)

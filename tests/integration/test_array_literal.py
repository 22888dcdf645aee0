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

from pgtest import SERVER_URL, postgres_schema, require_postgres
from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.backends.postgres.values import array_literal
from workhorse.jobs import JobState

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
        now = datetime(2026, 12, 5, tzinfo=UTC)
        jobs = [
            b.NewJob(
                tenant=name or "empty-is-refused",
                queue="default",
                task="noop",
                args_json="[]",
                kwargs_json="{}",
                priority=0,
                run_at=now,
                state=JobState.QUEUED,
                max_attempts=1,
                timeout=None,
                unique_key=None,
            )
            for name in NAMES
        ]
        backend.job_insert_many(b.JobInsertManyParams(jobs=jobs, now=now))
        params = b.JobClaimParams(
            worker_id="w",
            queues=["default"],
            limit=len(NAMES),
            lease_token="t",
            lease_for=timedelta(seconds=30),
            now=now,
        )
        claimed = backend.job_claim(params)
        assert sorted(job.tenant for job in claimed) == sorted(j.tenant for j in jobs)

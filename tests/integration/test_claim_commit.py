"""A claim's transaction runs its statements' generic plans and waits for its flush, as every
other transaction does; the session it ran on is left as it was."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from pgtest import postgres_schema
from workhorse.backends.postgres.claims import PostgresClaims
from workhorse.backends.postgres.statements import PostgresTx


@pytest.fixture
def conn() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with postgres_schema() as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x int)")
        yield conn


def _setting(conn: psycopg.Connection[tuple[object, ...]], name: str) -> object:
    row = conn.execute(f"SHOW {name}").fetchone()
    assert row is not None
    return row[0]


def test_a_claim_runs_generic_plans_and_leaves_the_session_as_it_was(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    with PostgresClaims(PostgresTx(conn)).atomic() as opened:
        assert opened
        assert _setting(conn, "plan_cache_mode") == "force_generic_plan"
        # A claim lost in a failover would run its jobs twice: it waits for its flush.
        assert _setting(conn, "synchronous_commit") == "on"
        conn.execute("INSERT INTO t VALUES (1)")
    assert _setting(conn, "plan_cache_mode") == "auto"
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
    with PostgresTx(conn).atomic() as opened:  # any other transaction plans as the server picks
        assert opened
        assert _setting(conn, "plan_cache_mode") == "auto"


def test_a_claim_that_raises_writes_nothing(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    with pytest.raises(RuntimeError), PostgresClaims(PostgresTx(conn)).atomic():
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("the claim failed")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    assert _setting(conn, "plan_cache_mode") == "auto"


def test_inside_a_transaction_already_the_claim_opens_none(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    with conn.transaction(), PostgresClaims(PostgresTx(conn)).atomic() as opened:
        assert not opened
        assert _setting(conn, "plan_cache_mode") == "auto"

"""What only the SQLite backend promises: its URL, its schema checks and its locking."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.backends.sqlite import SQLiteBackend
from workhorse.backends.sqlite.statements import QUERIES as SQLITE_QUERIES
from workhorse.errors import ConfigurationError, DatabaseError, SchemaError

from .support import T0, Jobs, at, new_job, success


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///:memory:",
        "sqlite://host/x.db",
        "sqlite:///",
        "sqlite:///x.db?synchronous=sometimes",
        "sqlite:///x.db?busy_timeout=soon",
        "sqlite:///x.db?journal=wal",
        "mysql://localhost/db",
    ],
)
def test_bad_urls_raise_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_backend(url)


def test_url_options_are_accepted(tmp_path: Path) -> None:
    backend = open_backend(f"sqlite:///{tmp_path}/opts.db?synchronous=full&busy_timeout=2")
    try:
        assert backend.schema_version() > 0
    finally:
        backend.close()


def test_a_missing_directory_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        open_backend(f"sqlite:///{tmp_path}/missing/dir/x.db")


def test_a_file_that_is_not_a_database_raises_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are not the pages you are looking for\n" * 200)
    with pytest.raises(SchemaError):
        open_backend(f"sqlite:///{path}")


def test_a_schema_newer_than_the_code_raises_schema_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/future.db"
    open_backend(url).close()
    with sqlite3.connect(tmp_path / "future.db") as conn:
        conn.execute("INSERT INTO workhorse_migrations VALUES (9999, 'future', 0)")
    conn.close()
    with pytest.raises(SchemaError, match="newer than this Workhorse"):
        open_backend(url)


def test_an_unmigrated_store_opened_without_auto_migrate_says_so(tmp_path: Path) -> None:
    backend = SQLiteBackend(f"sqlite:///{tmp_path}/empty.db", auto_migrate=False)
    try:
        assert backend.schema_version() == 0
        with pytest.raises(SchemaError, match="workhorse migrate"):
            backend.job_get(b.JobGetParams(id=1))
    finally:
        backend.close()


def test_transactional_enqueue_is_refused(tmp_path: Path) -> None:
    backend = open_backend(f"sqlite:///{tmp_path}/t.db")
    try:
        params = b.JobInsertManyParams(jobs=[new_job()], now=T0, connection=object())
        with pytest.raises(ConfigurationError, match="PostgreSQL"):
            backend.job_insert_many(params)
    finally:
        backend.close()


def test_a_closed_backend_refuses_work(tmp_path: Path) -> None:
    backend = open_backend(f"sqlite:///{tmp_path}/t.db")
    backend.close()
    with pytest.raises(DatabaseError, match="closed"):
        backend.job_get(b.JobGetParams(id=1))


def test_opening_a_fresh_file_waits_for_another_writer(tmp_path: Path) -> None:
    """Processes that start together on a fresh file must queue on the lock (busy_timeout), not
    fail: here another connection holds the write lock for a moment, as a racing process that
    is creating the schema does."""
    path = tmp_path / "fresh.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE other_app (x)")
    release = threading.Timer(0.2, holder.execute, ["COMMIT"])
    release.start()
    try:
        backend = open_backend(f"sqlite:///{path}?busy_timeout=30")
        assert backend.schema_version() > 0
        backend.close()
    finally:
        release.join()
        holder.close()


def test_a_new_database_and_its_wal_files_are_readable_by_their_owner_only(
    tmp_path: Path,
) -> None:
    """They hold every tenant's arguments and results: not for other users of the machine,
    whatever the umask (022 would make them world-readable)."""
    backend = open_backend(f"sqlite:///{tmp_path}/private.db")
    try:
        backend.job_insert_many(b.JobInsertManyParams(jobs=[new_job()], now=T0))
        files = [tmp_path / name for name in ("private.db", "private.db-wal", "private.db-shm")]
        assert all(path.exists() for path in files)
        assert {path.name: path.stat().st_mode & 0o777 for path in files} == {
            path.name: 0o600 for path in files
        }
    finally:
        backend.close()


def test_opening_without_create_makes_no_file_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(DatabaseError, match=r"no SQLite database at .*typo\.db.*workhorse migrate"):
        open_backend(f"sqlite:///{path}", create=False)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DatabaseError, match="does not exist"):
        open_backend(f"sqlite:///{tmp_path}/missing/dir/x.db", create=False)
    open_backend(f"sqlite:///{path}").close()
    open_backend(f"sqlite:///{path}", create=False).close()  # an existing one opens


def _claim_steps(path: Path, disabled_backlog: int) -> tuple[int, int]:
    """A delivery claim on a store where a disabled destination holds ``disabled_backlog`` due
    deliveries ahead of an enabled one's ten: (rows claimed, SQLite virtual machine steps)."""
    open_backend(f"sqlite:///{path}").close()
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO workhorse_destinations (id, tenant, kind, url, disabled_at, created_at,"
            " updated_at) VALUES (1, 'acme', 'webhook', 'https://a.example', 1, 1, 1),"
            " (2, 'acme', 'webhook', 'https://b.example', NULL, 1, 1)"
        )
        conn.execute(
            "INSERT INTO workhorse_events (id, tenant, type, data, occurred_at)"
            " VALUES (1, 'acme', 'job.succeeded', '{}', 1)"
        )
        rows = [(1, job, 10) for job in range(disabled_backlog)]
        rows += [(2, job, 20) for job in range(10)]
        conn.executemany(
            "INSERT INTO workhorse_deliveries (event_id, destination_id, tenant, job_id, next_at,"
            " created_at) VALUES (1, ?, 'acme', ?, ?, 1)",
            rows,
        )
        conn.set_progress_handler(count, 1)
        params = {"now": 100, "lease_until": 200, "token": "t", "limit": 100}
        claimed = conn.execute(SQLITE_QUERIES["delivery_claim"], params).fetchall()
        conn.set_progress_handler(None, 0)
    return len(claimed), steps


def test_a_delivery_claim_reads_none_of_a_disabled_destinations_backlog(tmp_path: Path) -> None:
    """Counted in steps of SQLite's virtual machine, not in time: the claim costs about the same
    whether a disabled destination holds a hundred due deliveries or ten thousand."""
    small = _claim_steps(tmp_path / "small.db", 100)
    large = _claim_steps(tmp_path / "large.db", 10_000)
    assert small[0] == large[0] == 10
    assert large[1] < 2 * small[1], (small, large)


def _statements_per_batch(path: Path, tenants: int) -> tuple[int, int]:
    """The statements one claim of 50 and the finish of what it claimed run, with the 50 jobs
    spread over ``tenants`` tenants."""
    backend = open_backend(f"sqlite:///{path}")
    try:
        assert isinstance(backend, SQLiteBackend)
        jobs = Jobs(backend)
        jobs.insert_many([new_job(tenant=f"t{i % tenants:03}") for i in range(50)])
        statements: list[str] = []
        backend._store._conn().set_trace_callback(statements.append)
        claimed = jobs.claim(limit=50)
        claim = len(statements)
        assert len(claimed) == 50
        finished = jobs.finish(*map(success, claimed), now=at(1))
        assert sorted(finished) == sorted(job.id for job in claimed)
        return claim, len(statements) - claim
    finally:
        backend.close()


def test_a_claim_and_its_finish_run_as_many_statements_for_50_tenants_as_for_5(
    tmp_path: Path,
) -> None:
    """Counted in statements, not in time: the take and the usage each tenant's jobs add are one
    statement for all the tenants, not one per tenant."""
    few = _statements_per_batch(tmp_path / "few.db", 5)
    many = _statements_per_batch(tmp_path / "many.db", 50)
    assert few == many, (few, many)

"""Transactional enqueue: jobs inserted on the caller's own psycopg connection exist exactly when
the caller's transaction commits, together with the caller's other writes."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from acceptance._harness import wait_until
from workhorse import (
    ConfigurationError,
    JobNotFoundError,
    JobState,
    Worker,
    WorkerConfig,
    Workhorse,
)
from workhorse.backends import base as b
from workhorse.backends.postgres.listener import PostgresListener

app = Workhorse()


@app.task
def add(a: int, b: int) -> int:
    return a + b


@app.task(queue="mail")
def send(to: str) -> str:
    return f"sent to {to}"


@pytest.fixture
def pg_app(migrated_url: str) -> Iterator[Workhorse]:
    """The module's app on a migrated schema of its own."""
    app.close()
    app.database_url = migrated_url
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def conn(migrated_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """The caller's connection, as an application holds it: not in autocommit."""
    with psycopg.connect(migrated_url) as connection:
        connection.execute("CREATE TABLE orders (id text PRIMARY KEY)")
        connection.commit()
        yield connection


def _claim(pg_app: Workhorse, queues: tuple[str, ...] = ("default",)) -> list[b.ClaimedJob]:
    """What a worker claiming now would get."""
    return pg_app.backend.job_claim(
        b.JobClaimParams(
            worker_id="test-worker",
            queues=queues,
            limit=100,
            lease_token=uuid.uuid4().hex,
            lease_for=timedelta(seconds=30),
            now=pg_app.clock(),
        )
    )


def _orders(url: str) -> list[str]:
    """The orders another connection sees."""
    with psycopg.connect(url) as other:
        return [row[0] for row in other.execute("SELECT id FROM orders ORDER BY id")]


def _exists(pg_app: Workhorse, job_id: int) -> bool:
    try:
        pg_app.get_job(job_id)
    except JobNotFoundError:
        return False
    return True


def _woken_within(listener: PostgresListener, seconds: float) -> bool:
    """Whether a notification for the listener's queues arrives within ``seconds`` (a wait can
    end early on another queue's notification, so wait again until the time is up)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if listener.wait(left):
            return True
    return False


def test_committed_job_exists_and_is_claimed(
    pg_app: Workhorse, conn: psycopg.Connection[tuple[object, ...]], migrated_url: str
) -> None:
    conn.execute("INSERT INTO orders (id) VALUES ('order-1')")
    handle = add.enqueue_in(conn, 2, 3)
    assert handle.created

    # Inside the caller's transaction the job is there; nobody else sees it yet.
    row = conn.execute("SELECT state FROM workhorse_jobs WHERE id = %s", [handle.id]).fetchone()
    assert row == ("queued",)
    assert not _exists(pg_app, handle.id)
    assert _claim(pg_app) == []
    assert not pg_app.backend.job_poll(b.JobPollParams(queues=("default",), now=pg_app.clock()))
    assert _orders(migrated_url) == []

    conn.commit()

    job = pg_app.get_job(handle.id)
    assert (job.state, job.task, job.args, job.attempts) == (JobState.QUEUED, "add", [2, 3], 0)
    assert _orders(migrated_url) == ["order-1"]
    claimed = _claim(pg_app)
    assert [(c.id, c.task, c.args, c.attempt) for c in claimed] == [(handle.id, "add", [2, 3], 1)]
    assert _claim(pg_app) == [], "a job is claimed once"


def test_rolled_back_job_never_exists(
    pg_app: Workhorse, conn: psycopg.Connection[tuple[object, ...]], migrated_url: str
) -> None:
    conn.execute("INSERT INTO orders (id) VALUES ('order-2')")
    handle = add.enqueue_in(conn, 1, 1)
    conn.rollback()

    assert not _exists(pg_app, handle.id)
    assert pg_app.list_jobs() == []
    assert _claim(pg_app) == []
    assert _orders(migrated_url) == []
    # The connection stays usable, and what it commits next is unaffected.
    later = add.enqueue_in(conn, 4, 4)
    conn.commit()
    assert [job.id for job in pg_app.list_jobs()] == [later.id]


def test_enqueue_many_in_the_callers_transaction(
    pg_app: Workhorse, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    # Several plain jobs (the COPY path), one with a unique key (the one-by-one path), and a
    # delayed one: all or nothing with the caller's transaction.
    specs = [
        *(add.prepare(i, i) for i in range(5)),
        send.with_options(unique_key="welcome-ada").prepare("ada"),
        add.with_options(delay=timedelta(hours=1)).prepare(9, 9),
    ]
    rolled_back = app.enqueue_many(specs, connection=conn)
    assert len(rolled_back) == len(specs)
    conn.rollback()
    assert pg_app.list_jobs() == []

    handles = app.enqueue_many(specs, connection=conn)
    assert all(handle.created for handle in handles)
    assert pg_app.list_jobs() == [], "invisible before commit"
    conn.commit()

    jobs = {job.id: job for job in pg_app.list_jobs()}
    assert set(jobs) == {handle.id for handle in handles}
    assert not {handle.id for handle in rolled_back} & set(jobs), "rolled-back ids are not reused"
    states = [jobs[handle.id].state for handle in handles]
    assert states == [JobState.QUEUED] * 6 + [JobState.SCHEDULED]
    assert jobs[handles[5].id].unique_key == "welcome-ada"
    assert {c.id for c in _claim(pg_app)} == {handle.id for handle in handles[:5]}
    assert [c.id for c in _claim(pg_app, ("mail",))] == [handles[5].id]


def test_unique_key_is_seen_across_the_callers_transaction(
    pg_app: Workhorse, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    first = send.with_options(unique_key="k").enqueue_in(conn, "a")
    again = send.with_options(unique_key="k").enqueue_in(conn, "b")
    assert (first.created, again.created, again.id) == (True, False, first.id)
    conn.commit()
    assert [job.args for job in pg_app.list_jobs()] == [["a"]]


@pytest.mark.parametrize("first_commits", [True, False], ids=["commit", "rollback"])
def test_a_unique_key_racing_another_transaction(
    pg_app: Workhorse,
    conn: psycopg.Connection[tuple[object, ...]],
    migrated_url: str,
    first_commits: bool,
) -> None:
    """A second transaction enqueueing the same key waits for the first: it gets the first's job
    if that commits, and creates its own if that rolls back. Never two live jobs for one key."""
    first = send.with_options(unique_key="race").enqueue_in(conn, "first")
    with psycopg.connect(migrated_url) as other, ThreadPoolExecutor(1) as pool:
        second = pool.submit(send.with_options(unique_key="race").enqueue_in, other, "second")
        wait_until(
            lambda: _waiting_on_a_lock(migrated_url, other.info.backend_pid),
            timeout=10,
            what="the second insert to wait for the first transaction",
        )
        assert not second.done()
        if first_commits:
            conn.commit()
        else:
            conn.rollback()
        handle = second.result(timeout=10)
        other.commit()

    jobs = pg_app.list_jobs()
    assert len(jobs) == 1
    if first_commits:
        assert (handle.created, handle.id, jobs[0].args) == (False, first.id, ["first"])
    else:
        assert handle.created and handle.id != first.id
        assert (jobs[0].id, jobs[0].args) == (handle.id, ["second"])


def _waiting_on_a_lock(url: str, pid: int) -> bool:
    """Whether the server process ``pid`` is blocked on a lock."""
    with psycopg.connect(url, autocommit=True) as probe:
        row = probe.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()
    return row is not None and row[0] == "Lock"


def test_a_worker_runs_a_committed_job(
    pg_app: Workhorse, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    committed = add.enqueue_in(conn, 20, 22)
    conn.commit()
    add.enqueue_in(conn, 1, 2)
    conn.rollback()

    worker = Worker(pg_app, WorkerConfig(burst=True, concurrency=2))
    asyncio.run(asyncio.wait_for(worker.run_async(), timeout=30))

    jobs = pg_app.list_jobs()
    assert [(job.id, job.state, job.result) for job in jobs] == [
        (committed.id, JobState.SUCCEEDED, 42)
    ]
    assert worker.stats.succeeded == 1


def test_the_wake_up_is_sent_on_commit_only(
    pg_app: Workhorse, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    # The notification channel is shared by every schema of the database: a queue name of its
    # own keeps other tests' wake-ups out.
    queue = f"q-{uuid.uuid4().hex}"
    listener = pg_app.backend.listener((queue,))
    assert isinstance(listener, PostgresListener)
    task = add.with_options(queue=queue)
    try:
        task.enqueue_in(conn, 1, 2)
        assert not _woken_within(listener, 0.5), "no notification before commit"
        conn.rollback()
        assert not _woken_within(listener, 0.5), "nor after a rollback"
        task.enqueue_in(conn, 1, 2)
        conn.commit()
        assert _woken_within(listener, 5), "woken on commit"
    finally:
        listener.close()


def test_postgres_refuses_a_connection_that_is_not_psycopg(
    pg_app: Workhorse, tmp_path: Path
) -> None:
    with (
        closing(sqlite3.connect(tmp_path / "other.db")) as foreign,
        pytest.raises(ConfigurationError, match="psycopg 3 Connection"),
    ):
        add.enqueue_in(foreign, 1, 2)
    assert pg_app.list_jobs() == []


def test_sqlite_refuses_a_connection(migrated_url: str, tmp_path: Path) -> None:
    sqlite_app = Workhorse(f"sqlite:///{tmp_path}/jobs.db")

    @sqlite_app.task
    def noop() -> None:
        return None

    try:
        with psycopg.connect(migrated_url) as pg_conn:
            with pytest.raises(ConfigurationError, match="PostgreSQL backend"):
                noop.enqueue_in(pg_conn)
            with pytest.raises(ConfigurationError, match="PostgreSQL backend"):
                sqlite_app.enqueue_many([noop.prepare()], connection=pg_conn)
        with (
            closing(sqlite3.connect(tmp_path / "jobs.db")) as own_file,
            pytest.raises(ConfigurationError, match="PostgreSQL backend"),
        ):
            noop.enqueue_in(own_file)
        assert sqlite_app.list_jobs() == []
        assert noop.enqueue().created, "the app still enqueues on its own"
    finally:
        sqlite_app.close()

"""PostgreSQL counts ended jobs per (tenant, queue, state, day) as statements end, revive and
delete them, so that the queue counts never read the history: after every kind of change the
counts equal a count of the rows themselves."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from backends.support import T0, Jobs, at, failure, success
from pgtest import postgres_schema
from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.backends.postgres.statements import QUERIES
from workhorse.backends.sql import load_migrations
from workhorse.jobs import JobState

DAY = 24 * 3600


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.fixture
def jobs(url: str) -> Iterator[Jobs]:
    backend = open_backend(url, auto_migrate=True)
    try:
        yield Jobs(backend)
    finally:
        backend.close()


Count = tuple[str, str, str, int]


def _counted(jobs: Jobs, tenant: str | None = None) -> set[Count]:
    rows = jobs.backend.job_count(b.JobCountParams(tenant=tenant))
    return {(row.tenant, row.queue, row.state.value, row.count) for row in rows}


def _scanned(url: str, tenant: str | None = None) -> set[Count]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tenant, queue, state, count(*) FROM workhorse_jobs"
            " WHERE %(t)s::text IS NULL OR tenant = %(t)s GROUP BY 1, 2, 3",
            {"t": tenant},
        ).fetchall()
    return {(str(t), str(q), str(s), int(n)) for t, q, s, n in rows}


def _stored_totals(url: str) -> list[tuple[str, str, str, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tenant, queue, state, count FROM workhorse_job_totals ORDER BY 1, 2, 3, 4"
        ).fetchall()
    return [(str(t), str(q), str(s), int(n)) for t, q, s, n in rows]


def _rotate(jobs: Jobs, now: float, before: float) -> b.JobHistoryRotation:
    params = b.JobHistoryParams(now=at(now), finished_before=at(before), ahead=1)
    return jobs.backend.job_history_rotate(params)


def _check(url: str, jobs: Jobs) -> None:
    assert _counted(jobs) == _scanned(url)
    assert _counted(jobs, "acme") == _scanned(url, "acme")


def test_counts_follow_every_way_a_job_ends_comes_back_and_goes(url: str, jobs: Jobs) -> None:
    _rotate(jobs, now=0, before=0)
    done = [jobs.running(now=at(0), tenant=t, queue=q) for t in ("acme", "globex") for q in "ab"]
    jobs.finish(*[success(job) for job in done], now=at(10))
    _check(url, jobs)

    dead = jobs.running(now=at(20), tenant="acme", queue="a", max_attempts=1)
    retrying = jobs.running(now=at(20), tenant="acme", queue="a", max_attempts=3)
    jobs.finish(failure(dead), failure(retrying, run_at=at(60)), now=at(30))
    assert jobs.state(retrying.id) is JobState.RETRYING, "a retry is not an end"
    _check(url, jobs)

    queued = jobs.insert(now=at(40), tenant="acme", queue="b")
    jobs.backend.job_cancel(b.JobCancelParams(id=queued, now=at(41)))
    _check(url, jobs)

    jobs.backend.job_retry(b.JobRetryParams(id=dead.id, now=at(50)))  # back to the live jobs
    assert jobs.state(dead.id) is JobState.QUEUED
    _check(url, jobs)

    again = jobs.claim_one(dead.id, queue="a", now=at(60))
    jobs.finish(failure(again), now=at(DAY + 5))  # dead again, the next day
    _check(url, jobs)
    redriven = jobs.backend.job_redrive(
        b.JobRedriveParams(action=b.RedriveAction.CANCEL, now=at(DAY + 6), limit=100)
    )
    assert redriven == 1
    _check(url, jobs)
    assert ("acme", "a", "cancelled", 1) in _counted(jobs)


def test_pruning_by_rows_and_by_days_takes_the_counts_with_the_jobs(url: str, jobs: Jobs) -> None:
    early = jobs.running(now=at(0), tenant="acme")
    jobs.finish(success(early), now=at(10))  # no partition for its day: workhorse_jobs_rest
    _rotate(jobs, now=DAY, before=0)  # the next two days get theirs
    later = jobs.running(now=at(DAY), tenant="acme")
    jobs.finish(success(later), now=at(DAY + 10))
    _check(url, jobs)
    assert _counted(jobs) == {("acme", "default", "succeeded", 2)}

    dropped = _rotate(jobs, now=2 * DAY + 20, before=2 * DAY)
    assert dropped.days == 1, "the second day's partition is dropped"
    assert _counted(jobs) == {("acme", "default", "succeeded", 1)}
    _check(url, jobs)

    pruned = jobs.backend.job_prune(b.JobPruneParams(finished_before=at(DAY), limit=100))
    assert pruned == 1, "the first day's job is deleted as a row"
    assert _counted(jobs) == set()
    _rotate(jobs, now=2 * DAY + 30, before=2 * DAY)  # the pruner's next round sums the counts
    assert _stored_totals(url) == [], "a count pruned to nothing leaves no row behind"


def test_the_pruners_round_sums_each_keys_appended_counts_into_one(url: str, jobs: Jobs) -> None:
    _rotate(jobs, now=0, before=0)
    for second in range(5):  # five statements, five rows appended for one key
        jobs.finish(success(jobs.running(now=at(second), tenant="acme")), now=at(second))
    jobs.finish(failure(jobs.running(now=at(6), tenant="acme")), now=at(6))
    assert len(_stored_totals(url)) == 6
    before = _counted(jobs)
    _rotate(jobs, now=10, before=0)
    assert _stored_totals(url) == [
        ("acme", "default", "dead", 1),
        ("acme", "default", "succeeded", 5),
    ]
    assert _counted(jobs) == before
    _check(url, jobs)


def test_the_migration_counts_the_jobs_already_kept(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(QUERIES["schema_create_migrations"])
        for version, name, sql in load_migrations("workhorse.backends.postgres.migrations"):
            if version >= 15:
                break
            with conn.transaction():
                conn.execute(sql.encode())
                conn.execute(
                    QUERIES["schema_record_migration"],
                    {"version": version, "name": name, "now": T0},
                )
        conn.execute(
            """
            INSERT INTO workhorse_jobs (tenant, queue, task, args, kwargs, state, max_attempts,
                                        created_at, run_at, updated_at, finished_at, ended_on)
            SELECT 'acme', 'default', 'work', '[]', '{}', s, 3, %(t)s, %(t)s, %(t)s,
                   CASE WHEN s = 'queued' THEN NULL ELSE %(t)s END,
                   CASE WHEN s = 'queued' THEN 'infinity'::date ELSE %(t)s::date END
            FROM unnest(ARRAY['queued', 'succeeded', 'succeeded', 'dead']) AS s
            """,
            {"t": T0},
        )
    backend = open_backend(url, auto_migrate=True)
    try:
        migrated = Jobs(backend)
        assert _counted(migrated) == {
            ("acme", "default", "queued", 1),
            ("acme", "default", "succeeded", 2),
            ("acme", "default", "dead", 1),
        }
    finally:
        backend.close()


def test_jobs_inserted_ended_by_hand_are_counted_by_a_recount(url: str, jobs: Jobs) -> None:
    jobs.insert(tenant="acme")
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO workhorse_jobs (tenant, queue, task, args, kwargs, state, max_attempts,
                                        created_at, run_at, updated_at, finished_at, ended_on)
            VALUES ('acme', 'default', 'work', '[]', '{}', 'succeeded', 3, %(t)s, %(t)s, %(t)s,
                    %(t)s, %(t)s::date)
            """,
            {"t": T0},
        )
    assert _counted(jobs) == {("acme", "default", "queued", 1)}, "no insert trigger counts it"
    with psycopg.connect(url) as conn:
        conn.execute("SELECT workhorse_job_totals_recount()")
    _check(url, jobs)
    assert ("acme", "default", "succeeded", 1) in _counted(jobs)

"""PostgreSQL counts ended jobs per (tenant, queue, state, day) as statements end, revive and
delete them, so that the queue counts never read the history: after every kind of change the
counts equal a count of the rows themselves."""

from __future__ import annotations

import psycopg

from backends.support import T0, Jobs, at, failure, success
from pgtest import migrate_before
from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.jobs import JobState

DAY = 24 * 3600


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


def test_counts_follow_every_way_a_job_ends_comes_back_and_goes(pg_url: str, pg_jobs: Jobs) -> None:
    _rotate(pg_jobs, now=0, before=0)
    done = [pg_jobs.running(now=at(0), tenant=t, queue=q) for t in ("acme", "globex") for q in "ab"]
    pg_jobs.finish(*[success(job) for job in done], now=at(10))
    _check(pg_url, pg_jobs)

    dead = pg_jobs.running(now=at(20), tenant="acme", queue="a", max_attempts=1)
    retrying = pg_jobs.running(now=at(20), tenant="acme", queue="a", max_attempts=3)
    pg_jobs.finish(failure(dead), failure(retrying, run_at=at(60)), now=at(30))
    assert pg_jobs.state(retrying.id) is JobState.RETRYING, "a retry is not an end"
    _check(pg_url, pg_jobs)

    queued = pg_jobs.insert(now=at(40), tenant="acme", queue="b")
    pg_jobs.backend.job_cancel(b.JobCancelParams(id=queued, now=at(41)))
    _check(pg_url, pg_jobs)

    pg_jobs.backend.job_retry(b.JobRetryParams(id=dead.id, now=at(50)))  # back to the live jobs
    assert pg_jobs.state(dead.id) is JobState.QUEUED
    _check(pg_url, pg_jobs)

    again = pg_jobs.claim_one(dead.id, queue="a", now=at(60))
    pg_jobs.finish(failure(again), now=at(DAY + 5))  # dead again, the next day
    _check(pg_url, pg_jobs)
    redriven = pg_jobs.backend.job_redrive(
        b.JobRedriveParams(action=b.RedriveAction.CANCEL, now=at(DAY + 6), limit=100)
    )
    assert redriven == 1
    _check(pg_url, pg_jobs)
    assert ("acme", "a", "cancelled", 1) in _counted(pg_jobs)


def test_pruning_by_rows_and_by_days_takes_the_counts_with_the_jobs(
    pg_url: str, pg_jobs: Jobs
) -> None:
    early = pg_jobs.running(now=at(0), tenant="acme")
    pg_jobs.finish(success(early), now=at(10))  # no partition for its day: workhorse_jobs_rest
    _rotate(pg_jobs, now=DAY, before=0)  # the next two days get theirs
    later = pg_jobs.running(now=at(DAY), tenant="acme")
    pg_jobs.finish(success(later), now=at(DAY + 10))
    _check(pg_url, pg_jobs)
    assert _counted(pg_jobs) == {("acme", "default", "succeeded", 2)}

    dropped = _rotate(pg_jobs, now=2 * DAY + 20, before=2 * DAY)
    assert dropped.days == 1, "the second day's partition is dropped"
    assert _counted(pg_jobs) == {("acme", "default", "succeeded", 1)}
    _check(pg_url, pg_jobs)

    pruned = pg_jobs.backend.job_prune(b.JobPruneParams(finished_before=at(DAY), limit=100))
    assert pruned == 1, "the first day's job is deleted as a row"
    assert _counted(pg_jobs) == set()
    _rotate(pg_jobs, now=2 * DAY + 30, before=2 * DAY)  # the pruner's next round sums the counts
    assert _stored_totals(pg_url) == [], "a count pruned to nothing leaves no row behind"


def test_the_pruners_round_sums_each_keys_appended_counts_into_one(
    pg_url: str, pg_jobs: Jobs
) -> None:
    _rotate(pg_jobs, now=0, before=0)
    for second in range(5):  # five statements, five rows appended for one key
        pg_jobs.finish(success(pg_jobs.running(now=at(second), tenant="acme")), now=at(second))
    pg_jobs.finish(failure(pg_jobs.running(now=at(6), tenant="acme")), now=at(6))
    assert len(_stored_totals(pg_url)) == 6
    before = _counted(pg_jobs)
    _rotate(pg_jobs, now=10, before=0)
    assert _stored_totals(pg_url) == [
        ("acme", "default", "dead", 1),
        ("acme", "default", "succeeded", 5),
    ]
    assert _counted(pg_jobs) == before
    _check(pg_url, pg_jobs)


def test_the_migration_counts_the_jobs_already_kept(pg_url: str) -> None:
    migrate_before(pg_url, 15)
    with psycopg.connect(pg_url, autocommit=True) as conn:
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
    backend = open_backend(pg_url, auto_migrate=True)
    try:
        migrated = Jobs(backend)
        assert _counted(migrated) == {
            ("acme", "default", "queued", 1),
            ("acme", "default", "succeeded", 2),
            ("acme", "default", "dead", 1),
        }
    finally:
        backend.close()


def test_jobs_inserted_ended_by_hand_are_counted_by_a_recount(pg_url: str, pg_jobs: Jobs) -> None:
    pg_jobs.insert(tenant="acme")
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            """
            INSERT INTO workhorse_jobs (tenant, queue, task, args, kwargs, state, max_attempts,
                                        created_at, run_at, updated_at, finished_at, ended_on)
            VALUES ('acme', 'default', 'work', '[]', '{}', 'succeeded', 3, %(t)s, %(t)s, %(t)s,
                    %(t)s, %(t)s::date)
            """,
            {"t": T0},
        )
    assert _counted(pg_jobs) == {("acme", "default", "queued", 1)}, "no insert trigger counts it"
    with psycopg.connect(pg_url) as conn:
        conn.execute("SELECT workhorse_job_totals_recount()")
    _check(pg_url, pg_jobs)
    assert ("acme", "default", "succeeded", 1) in _counted(pg_jobs)

"""PostgreSQL keeps ended jobs in a partition per UTC day of their end: a job moves there in the
statement that ends it and back when it is retried by hand, the pruner drops whole days, and a
statement that waited for a job that moved meanwhile runs again instead of failing."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import psycopg

from backends.support import T0, Jobs, at, failure, new_job, success
from pgtest import migrate_before
from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.jobs import JobState

DAY = 24 * 3600


def _partition(url: str, job_id: int) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT tableoid::regclass::text FROM workhorse_jobs WHERE id = %s", (job_id,)
        ).fetchone()
    assert row is not None, f"job {job_id} is gone"
    return str(row[0])


def _days(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'workhorse_jobs'::regclass ORDER BY 1
            """
        ).fetchall()
    return [str(name) for (name,) in rows]


def _rotate(jobs: Jobs, now: float, before: float) -> b.JobHistoryRotation:
    params = b.JobHistoryParams(now=at(now), finished_before=at(before), ahead=1)
    return jobs.backend.job_history_rotate(params)


def test_rotation_prepares_today_and_tomorrow(pg_url: str, pg_jobs: Jobs) -> None:
    assert _days(pg_url) == ["workhorse_jobs_live", "workhorse_jobs_rest"]
    assert _rotate(pg_jobs, now=2 * DAY, before=0) == b.JobHistoryRotation(days=0, jobs=0)
    days = [f"workhorse_jobs_2030010{d}" for d in (3, 4)]
    assert _days(pg_url) == [*days, "workhorse_jobs_live", "workhorse_jobs_rest"]
    _rotate(pg_jobs, now=2 * DAY, before=0)  # a second round changes nothing
    assert _days(pg_url) == [*days, "workhorse_jobs_live", "workhorse_jobs_rest"]


def test_a_job_moves_to_its_days_partition_when_it_ends_and_reads_the_same(
    pg_url: str, pg_jobs: Jobs
) -> None:
    _rotate(pg_jobs, now=0, before=0)
    job = pg_jobs.running(now=at(10))
    assert _partition(pg_url, job.id) == "workhorse_jobs_live"
    before = pg_jobs.get(job.id)
    pg_jobs.finish(success(job), now=at(DAY - 1))  # 23:59:59 on 2030-01-01
    assert _partition(pg_url, job.id) == "workhorse_jobs_20300101"
    after = pg_jobs.get(job.id)
    assert after.state is JobState.SUCCEEDED and after.finished_at == at(DAY - 1)
    assert (after.id, after.args, after.created_at) == (before.id, before.args, before.created_at)
    listed = pg_jobs.backend.job_list(b.JobListParams(states=[JobState.SUCCEEDED], limit=10))
    assert [j.id for j in listed] == [job.id]


def test_a_retried_dead_job_moves_back_and_is_claimed_again(pg_url: str, pg_jobs: Jobs) -> None:
    _rotate(pg_jobs, now=0, before=0)
    job = pg_jobs.running(now=at(0))
    pg_jobs.finish(failure(job), now=at(5))
    assert _partition(pg_url, job.id) == "workhorse_jobs_20300101"
    assert pg_jobs.claim(now=at(6)) == []
    retried = pg_jobs.backend.job_retry(b.JobRetryParams(id=job.id, now=at(7)))
    assert retried is not None and retried.changed
    assert _partition(pg_url, job.id) == "workhorse_jobs_live"
    assert [claimed.id for claimed in pg_jobs.claim(now=at(8))] == [job.id]


def test_a_day_created_late_takes_the_jobs_that_ended_on_it(pg_url: str, pg_jobs: Jobs) -> None:
    job = pg_jobs.running(now=at(0))
    pg_jobs.finish(success(job), now=at(5))
    assert _partition(pg_url, job.id) == "workhorse_jobs_rest", "no partition for the day yet"
    _rotate(pg_jobs, now=10, before=0)
    assert _partition(pg_url, job.id) == "workhorse_jobs_20300101"
    assert pg_jobs.state(job.id) is JobState.SUCCEEDED


def test_rotation_drops_the_days_wholly_before_the_cut_off_with_their_edges(
    pg_url: str, pg_jobs: Jobs
) -> None:
    _rotate(pg_jobs, now=0, before=0)
    parent = pg_jobs.running(now=at(0))
    child_id = pg_jobs.insert(now=at(0), after=(parent.id,), state=JobState.BLOCKED)
    pg_jobs.finish(success(parent), now=at(10))
    [child] = pg_jobs.claim(now=at(20))
    pg_jobs.finish(success(child), now=at(DAY + 10))  # the next day
    live = pg_jobs.insert(now=at(30))
    with psycopg.connect(pg_url) as conn:
        conn.execute("ANALYZE workhorse_jobs")

    kept = _rotate(pg_jobs, now=DAY + 20, before=DAY - 1)
    assert kept == b.JobHistoryRotation(days=0, jobs=0), "2030-01-01 is not wholly before"
    dropped = _rotate(pg_jobs, now=DAY + 20, before=DAY)
    assert dropped == b.JobHistoryRotation(days=1, jobs=1)
    assert "workhorse_jobs_20300101" not in _days(pg_url)
    assert pg_jobs.backend.job_get(b.JobGetParams(id=parent.id)) is None
    assert pg_jobs.state(child_id) is JobState.SUCCEEDED
    assert pg_jobs.state(live) is JobState.QUEUED
    with psycopg.connect(pg_url) as conn:
        edges = conn.execute("SELECT count(*) FROM workhorse_job_edges").fetchone()
    assert edges == (0,)


def test_a_heartbeat_behind_the_finish_of_its_job_runs_again(pg_url: str, pg_jobs: Jobs) -> None:
    """The heartbeat waits for the finishing transaction's row lock; when that commits, the row
    is in another partition, which PostgreSQL reports as a serialization failure."""
    job = pg_jobs.running(now=at(0), worker="w1")
    answers: list[Any] = []
    with psycopg.connect(pg_url) as finishing:
        finishing.execute(
            "UPDATE workhorse_jobs SET state = 'succeeded', finished_at = %s, ended_on = %s,"
            " lease_token = NULL WHERE id = %s",
            (at(5), date(2030, 1, 1), job.id),
        )

        def beat() -> None:
            params = b.JobHeartbeatParams(
                worker_id="w1", ids=[job.id], lease_for=timedelta(minutes=1), now=at(6)
            )
            try:
                answers.append(pg_jobs.backend.job_heartbeat(params))
            except Exception as exc:  # the test reports it below
                answers.append(exc)

        beating = threading.Thread(target=beat)
        beating.start()
        beating.join(0.5)
        assert beating.is_alive(), "the heartbeat did not wait for the row lock"
    beating.join(10)  # the connection's block committed the finish
    assert answers == [[]], "the job ended: no lease to extend, and no error"


def test_the_migration_moves_every_job_and_keeps_the_ids(pg_url: str) -> None:
    """A database at the schema before days (13), with live and ended jobs, migrated: each
    ended one to its day's partition (the day of `updated_at` when it has no `finished_at`)."""
    migrate_before(pg_url, 14)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO workhorse_jobs (tenant, queue, task, args, kwargs, state, max_attempts,
                                        unique_key, created_at, run_at, updated_at, finished_at)
            VALUES ('acme', 'default', 'work', '[]', '{}', 'queued', 3, 'k', %(t)s, %(t)s, %(t)s,
                    NULL),
                   ('acme', 'default', 'work', '[]', '{}', 'succeeded', 3, 'k', %(t)s, %(t)s, %(t)s,
                    %(t)s + interval '1 minute'),
                   ('acme', 'default', 'work', '[]', '{}', 'dead', 3, NULL, %(t)s, %(t)s, %(t)s,
                    NULL)
            """,
            {"t": T0},
        )
    backend = open_backend(pg_url, auto_migrate=True)
    try:
        migrated = Jobs(backend)
        assert sorted((j.id, j.state) for j in migrated.all()) == [
            (1, JobState.QUEUED),
            (2, JobState.SUCCEEDED),
            (3, JobState.DEAD),
        ]
        assert _partition(pg_url, 1) == "workhorse_jobs_live"
        assert _partition(pg_url, 2) == _partition(pg_url, 3) == "workhorse_jobs_20300101"
        assert migrated.insert(now=at(60)) == 4, "ids go on from the old table's"
        [again] = migrated.insert_many([new_job(at(60), tenant="acme", unique_key="k")])
        assert (again.id, again.created) == (1, False), "the live job keeps its key"
        retried = backend.job_retry(b.JobRetryParams(id=3, now=at(70)))
        assert retried is not None and retried.changed
        assert migrated.state(3) is JobState.QUEUED
    finally:
        backend.close()


def test_the_day_after_the_prepared_days_is_kept_too(pg_url: str, pg_jobs: Jobs) -> None:
    """A job that ends on a day the pruner has not prepared (it has not run for days) is kept in
    workhorse_jobs_rest, and the day's partition takes it when it is prepared."""
    _rotate(pg_jobs, now=0, before=0)
    job = pg_jobs.running(now=at(0))
    far = at(0) + timedelta(days=10)
    pg_jobs.finish(success(job), now=far)
    assert _partition(pg_url, job.id) == "workhorse_jobs_rest"
    _rotate(pg_jobs, now=10 * DAY, before=10 * DAY)
    assert _partition(pg_url, job.id) == "workhorse_jobs_20300111"

"""Usage: each finished attempt's measured usage is stored with the job, and added to the hourly
roll-up per tenant, task and queue that usage_list reads, which outlives pruned jobs. (PostgreSQL
appends it, and the maintenance folds it into the roll-up: usage_list reads both.)"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import psycopg
import pytest

from workhorse.admin import NO_DAY
from workhorse.backends import base as b
from workhorse.backends.postgres.backend import PostgresBackend
from workhorse.backends.postgres.connecting import parse_url

from .support import T0, Jobs, at, failure, success

HOUR = timedelta(hours=1)


def _measured(outcome: b.Outcome, wall: float, cpu: float | None, slots: int = 1) -> b.Outcome:
    usage = b.AttemptUsage(wall_seconds=wall, cpu_seconds=cpu, max_rss_bytes=2048, slots=slots)
    return replace(outcome, usage=usage)


def _finish(jobs: Jobs, *outcomes: b.Outcome, now: float) -> list[int]:
    return jobs.backend.job_finish_many(b.JobFinishManyParams(outcomes=outcomes, now=at(now)))


def _usage(jobs: Jobs, tenant: str | None = None) -> list[b.UsageRow]:
    params = b.UsageListParams(since=T0 - HOUR, until=T0 + 2 * HOUR, tenant=tenant)
    return jobs.backend.usage_list(params)


def test_job_finish_many_stores_each_attempts_usage_with_the_job(jobs: Jobs) -> None:
    job = jobs.running(tenant="acme", now=at(0))
    _finish(jobs, _measured(failure(job, run_at=at(1)), 1.5, 1.25), now=2)
    jobs.backend.job_promote(b.JobPromoteParams(now=at(3), limit=10))
    again = jobs.claim_one(job.id, now=at(3))
    _finish(jobs, _measured(success(again), 2.5, None, slots=2), now=6)
    stored = jobs.get(job.id)
    assert [(u.attempt, u.wall_seconds, u.cpu_seconds) for u in stored.attempt_usage] == [
        (1, 1.5, 1.25),
        (2, 2.5, None),
    ]
    assert [u.slots for u in stored.attempt_usage] == [1, 2]
    assert stored.usage.wall_seconds == pytest.approx(4.0)
    assert stored.usage.cpu_seconds == pytest.approx(1.25)
    assert stored.usage.max_rss_bytes == 2048


def test_job_finish_many_rolls_usage_up_per_tenant_task_and_queue(jobs: Jobs) -> None:
    first = jobs.running(tenant="acme", task="resize", now=at(0))
    second = jobs.running(tenant="acme", task="resize", now=at(0))
    retried = jobs.running(tenant="acme", task="resize", now=at(0))
    other = jobs.running(tenant="globex", task="resize", now=at(0))
    outcomes = [
        _measured(success(first), 2.0, 1.0),
        _measured(success(second), 3.0, 2.0, slots=4),
        _measured(failure(retried, run_at=at(60)), 1.0, 0.5),
        _measured(success(other), 1.0, 1.0),
    ]
    _finish(jobs, *outcomes, now=5)
    [acme] = _usage(jobs, "acme")
    assert (acme.task, acme.queue, acme.hour) == ("resize", "default", T0.replace(minute=0))
    assert (acme.jobs, acme.attempts) == (2, 3), "a retry is an attempt, not a job"
    assert acme.wall_seconds == pytest.approx(6.0)
    assert acme.cpu_seconds == pytest.approx(3.5)
    assert acme.slot_seconds == pytest.approx(2.0 + 12.0 + 1.0)
    assert {row.tenant for row in _usage(jobs)} == {"acme", "globex"}


def test_usage_adds_up_across_batches_and_counts_unmeasured_attempts(jobs: Jobs) -> None:
    measured = jobs.running(tenant="acme", now=at(0))
    unmeasured = jobs.running(tenant="acme", now=at(0))
    _finish(jobs, _measured(success(measured), 1.0, 1.0), now=2)
    _finish(jobs, success(unmeasured), now=4)
    [row] = _usage(jobs)
    assert (row.jobs, row.attempts) == (2, 2)
    assert row.wall_seconds == pytest.approx(1.0 + 4.0), "unmeasured: its run time"
    assert row.cpu_seconds == pytest.approx(1.0)


def test_usage_outlives_pruned_jobs(jobs: Jobs) -> None:
    job = jobs.running(tenant="acme", now=at(0))
    _finish(jobs, _measured(success(job), 1.0, 1.0), now=1)
    pruned = jobs.backend.job_prune(b.JobPruneParams(finished_before=at(10), limit=10))
    assert pruned == 1
    assert [row.jobs for row in _usage(jobs)] == [1]


def test_usage_list_reads_only_the_window(jobs: Jobs) -> None:
    job = jobs.running(tenant="acme", now=at(0))
    _finish(jobs, _measured(success(job), 1.0, 1.0), now=1)
    later = b.UsageListParams(since=T0 + HOUR, until=T0 + 3 * HOUR)
    assert jobs.backend.usage_list(later) == []
    assert _usage(jobs, "globex") == []


def _pending(backend_url: str) -> int:
    """Rows of usage PostgreSQL's finishes appended that no fold took yet."""
    with psycopg.connect(parse_url(backend_url).conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM workhorse_usage_pending").fetchone()
    assert row is not None
    return int(row[0])


def _rotate(jobs: Jobs, now: float) -> None:
    """The maintenance's history rotation, dropping no day."""
    history = b.JobHistoryParams(now=at(now), finished_before=NO_DAY)
    jobs.backend.job_history_rotate(history)


def _postgres(jobs: Jobs) -> PostgresBackend:
    assert isinstance(jobs.backend, PostgresBackend)
    return jobs.backend


@pytest.mark.postgres_only
def test_usage_reads_the_same_before_and_after_the_maintenance_folds_it(
    jobs: Jobs, backend_url: str
) -> None:
    """A finish appends its usage; the maintenance's rotation folds it into the roll-up, adding
    to the hour's row. usage_list reads the same sums on either side of a fold."""
    first, second, third = (jobs.running(tenant="acme", task="resize", now=at(0)) for _ in "abc")
    _finish(jobs, _measured(success(first), 1.0, 0.5), now=1)
    _finish(jobs, _measured(success(second), 2.0, 1.5, slots=2), now=2)
    assert _pending(backend_url) == 2
    appended = _usage(jobs)
    _rotate(jobs, now=3)
    assert _pending(backend_url) == 0
    assert _usage(jobs) == appended
    [row] = appended
    assert (row.jobs, row.attempts, row.wall_seconds, row.slot_seconds) == (2, 2, 3.0, 5.0)

    _finish(jobs, _measured(success(third), 4.0, 1.0), now=4)  # one row folded, one appended
    [row] = _usage(jobs)
    assert (row.jobs, row.wall_seconds, row.cpu_seconds) == (3, 7.0, 3.0)
    _rotate(jobs, now=5)
    assert _pending(backend_url) == 0
    assert _usage(jobs) == [row]


@pytest.mark.postgres_only
def test_usage_fold_takes_the_appended_rows_in_batches(jobs: Jobs, backend_url: str) -> None:
    for index in range(5):
        job = jobs.running(tenant="acme", task=f"task-{index % 2}", now=at(0))
        _finish(jobs, _measured(success(job), 1.0, 1.0), now=1 + index)
    assert _pending(backend_url) == 5
    assert _postgres(jobs).usage_fold(batch=2) == 5
    assert _pending(backend_url) == 0
    assert [(row.task, row.jobs) for row in _usage(jobs)] == [("task-0", 3), ("task-1", 2)]


@pytest.mark.postgres_only
def test_folds_racing_finishes_count_every_attempt_once(jobs: Jobs, backend_url: str) -> None:
    """Two folds running again and again while jobs finish one by one: each appended row is
    added once, by one of them, and none is lost."""
    running = [jobs.running(tenant=f"t{index % 7}", now=at(0)) for index in range(60)]
    stop = threading.Event()
    folded: list[int] = []

    def fold() -> None:
        while not stop.is_set():
            folded.append(_postgres(jobs).usage_fold(batch=3))

    folders = [threading.Thread(target=fold) for _ in range(2)]
    for thread in folders:
        thread.start()
    try:
        for job in running:
            _finish(jobs, _measured(success(job), 1.0, 1.0), now=1)
    finally:
        stop.set()
        for thread in folders:
            thread.join()
    folded.append(_postgres(jobs).usage_fold())
    assert _pending(backend_url) == 0
    assert sum(folded) == 60
    rows = _usage(jobs)
    assert sum(row.jobs for row in rows) == 60
    assert {row.tenant: row.jobs for row in rows} == {f"t{i}": 9 if i < 4 else 8 for i in range(7)}

"""job_stats: finished jobs per time bucket, by end state, with wait-time percentiles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs, at, failure, success

MINUTE = timedelta(minutes=1)


def _finished(
    jobs: Jobs,
    *,
    finished: float,
    waited: float = 0,
    state: JobState = JobState.SUCCEEDED,
    tenant: str = "acme",
) -> int:
    """A job due at ``finished - waited - 1`` s, started ``waited`` s later, which ends in
    ``state`` one second after starting (at ``at(finished)``)."""
    due = finished - waited - 1
    job_id = jobs.insert(now=at(due), tenant=tenant, max_attempts=1)
    job = jobs.claim_one(job_id, now=at(due + waited))
    if state is JobState.CANCELLED:
        jobs.backend.job_cancel(b.JobCancelParams(id=job_id, now=at(finished)))
    else:
        outcome = success(job) if state is JobState.SUCCEEDED else failure(job)
        assert jobs.finish(outcome, now=at(finished)) == [job_id]
    return job_id


def _stats(
    jobs: Jobs, since: float = 0, until: float = 600, tenant: str | None = None
) -> list[b.JobStatsBucket]:
    params = b.JobStatsParams(since=at(since), until=at(until), bucket=MINUTE, tenant=tenant)
    return jobs.backend.job_stats(params)


def _counts(buckets: list[b.JobStatsBucket]) -> list[tuple[float, int, int, int]]:
    """(bucket start in seconds, succeeded, dead, cancelled) per bucket."""
    return [
        ((row.start - at(0)).total_seconds(), row.succeeded, row.dead, row.cancelled)
        for row in buckets
    ]


def test_job_stats_of_an_empty_store_is_empty(jobs: Jobs) -> None:
    assert _stats(jobs) == []


def test_job_stats_counts_finished_jobs_per_bucket_by_end_state(jobs: Jobs) -> None:
    _finished(jobs, finished=10)
    _finished(jobs, finished=59.5)
    _finished(jobs, finished=61, state=JobState.DEAD)
    _finished(jobs, finished=200, state=JobState.CANCELLED)
    _finished(jobs, finished=200)
    buckets = _stats(jobs)
    assert _counts(buckets) == [(0, 2, 0, 0), (60, 0, 1, 0), (180, 1, 0, 1)]
    assert [row.finished for row in buckets] == [2, 1, 2]


def test_job_stats_reads_only_the_window(jobs: Jobs) -> None:
    _finished(jobs, finished=119.9)
    _finished(jobs, finished=120)
    _finished(jobs, finished=179)
    _finished(jobs, finished=180)
    assert _counts(_stats(jobs, since=120, until=180)) == [(120, 2, 0, 0)]


def test_job_stats_leaves_out_jobs_that_have_not_finished(jobs: Jobs) -> None:
    jobs.in_state(JobState.RUNNING, now=at(5))
    jobs.in_state(JobState.RETRYING, now=at(5))
    jobs.in_state(JobState.SCHEDULED, now=at(5))
    jobs.in_state(JobState.QUEUED, now=at(5))
    assert _stats(jobs) == []


def test_job_stats_wait_percentiles_are_nearest_rank(jobs: Jobs) -> None:
    for waited in range(20, 0, -1):  # 1..20 s, finished out of order
        _finished(jobs, finished=300 + waited, waited=waited)
    _finished(jobs, finished=10, waited=7)
    first, second = _stats(jobs)
    assert (first.wait_p50, first.wait_p95) == (timedelta(seconds=7), timedelta(seconds=7))
    # rank ceil(0.5 * 20) = 10 and ceil(0.95 * 20) = 19
    assert (second.wait_p50, second.wait_p95) == (timedelta(seconds=10), timedelta(seconds=19))


@pytest.mark.parametrize(
    ("waits", "p50", "p95"),
    [([4], 4, 4), ([1, 9], 1, 9), ([3, 1, 2], 2, 3), ([*range(1, 11)], 5, 10)],
)
def test_job_stats_wait_percentiles_of_small_buckets(
    jobs: Jobs, waits: list[int], p50: int, p95: int
) -> None:
    for index, waited in enumerate(waits):
        _finished(jobs, finished=100 + index, waited=waited)
    [bucket] = _stats(jobs)
    assert bucket.wait_p50 == timedelta(seconds=p50)
    assert bucket.wait_p95 == timedelta(seconds=p95)


def test_job_stats_jobs_that_never_started_have_no_wait(jobs: Jobs) -> None:
    job_id = jobs.insert(now=at(0))
    jobs.backend.job_cancel(b.JobCancelParams(id=job_id, now=at(30)))
    [bucket] = _stats(jobs)
    assert (bucket.cancelled, bucket.wait_p50, bucket.wait_p95) == (1, None, None)
    _finished(jobs, finished=40, waited=3)
    [bucket] = _stats(jobs)
    three = timedelta(seconds=3)
    assert (bucket.finished, bucket.wait_p50, bucket.wait_p95) == (2, three, three)


def test_job_stats_wait_is_that_of_the_last_attempt(jobs: Jobs) -> None:
    job = jobs.running(now=at(0), max_attempts=2)
    assert jobs.finish(failure(job, run_at=at(50)), now=at(1)) == [job.id]
    jobs.backend.job_promote(b.JobPromoteParams(now=at(50), limit=10))
    retried = jobs.claim_one(job.id, now=at(54))
    assert jobs.finish(success(retried), now=at(55)) == [job.id]
    [bucket] = _stats(jobs)
    assert (bucket.succeeded, bucket.wait_p50) == (1, timedelta(seconds=4))


def test_job_stats_is_scoped_by_tenant(jobs: Jobs) -> None:
    _finished(jobs, finished=10, waited=2, tenant="acme")
    _finished(jobs, finished=20, waited=9, state=JobState.DEAD, tenant="globex")
    _finished(jobs, finished=30, waited=9, tenant="globex")
    [acme] = _stats(jobs, tenant="acme")
    assert (acme.succeeded, acme.dead, acme.wait_p95) == (1, 0, timedelta(seconds=2))
    [globex] = _stats(jobs, tenant="globex")
    assert (globex.succeeded, globex.dead, globex.wait_p50) == (1, 1, timedelta(seconds=9))
    [everyone] = _stats(jobs)
    assert everyone.finished == 3
    assert _stats(jobs, tenant="initech") == []


def test_job_stats_params_are_checked() -> None:
    with pytest.raises(ValueError, match="bucket must be positive"):
        b.JobStatsParams(since=at(0), until=at(60), bucket=timedelta(0))
    with pytest.raises(ValueError, match="until must not be before since"):
        b.JobStatsParams(since=at(60), until=at(0), bucket=MINUTE)

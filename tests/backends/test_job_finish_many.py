"""job_finish_many: outcomes written under the lease that claimed the job, and only under it."""

from __future__ import annotations

from datetime import timedelta

from workhorse.backends import base as b
from workhorse.jobs import AttemptError, JobState

from .support import ERROR, LEASE, Jobs, at, failure, success


def test_job_finish_many_records_success(jobs: Jobs) -> None:
    job = jobs.running(worker="w1")
    assert jobs.finish(success(job, '{"rows":3}'), now=at(5)) == [job.id]
    stored = jobs.get(job.id)
    assert stored.state is JobState.SUCCEEDED
    assert stored.result == {"rows": 3}
    assert stored.errors == []
    assert stored.finished_at == at(5)
    assert stored.lease_expires_at is None
    assert stored.attempts == 1


def test_job_finish_many_records_retrying_with_its_run_at_and_error(jobs: Jobs) -> None:
    job = jobs.running()
    assert jobs.finish(failure(job, run_at=at(65)), now=at(5)) == [job.id]
    stored = jobs.get(job.id)
    assert stored.state is JobState.RETRYING
    assert stored.run_at == at(65)
    assert stored.finished_at is None
    assert stored.result is None
    assert stored.lease_expires_at is None
    assert stored.errors == [
        AttemptError(
            attempt=1,
            type=ERROR.type,
            message=ERROR.message,
            traceback=ERROR.traceback,
            at=at(5),
        )
    ]


def test_job_finish_many_records_dead(jobs: Jobs) -> None:
    job = jobs.running(max_attempts=1)
    error = b.ErrorRecord(type="KeyError", message="'x'", traceback=None)
    assert jobs.finish(failure(job, error=error), now=at(7)) == [job.id]
    stored = jobs.get(job.id)
    assert stored.state is JobState.DEAD
    assert stored.finished_at == at(7)
    assert stored.errors == [
        AttemptError(attempt=1, type="KeyError", message="'x'", traceback=None, at=at(7))
    ]


def test_job_finish_many_appends_one_error_per_attempt(jobs: Jobs) -> None:
    job = jobs.running(max_attempts=3)
    for attempt in (1, 2):
        assert job.attempt == attempt
        error = b.ErrorRecord(type="E", message=f"attempt {attempt}", traceback=None)
        outcome = failure(job, run_at=at(10 * attempt), error=error)
        assert jobs.finish(outcome, now=at(10 * attempt)) == [job.id]
        jobs.backend.job_promote(b.JobPromoteParams(now=at(10 * attempt), limit=10))
        job = jobs.claim_one(job.id, now=at(10 * attempt))
    assert jobs.finish(failure(job), now=at(30)) == [job.id]
    stored = jobs.get(job.id)
    assert stored.state is JobState.DEAD
    assert [(e.attempt, e.message, e.at) for e in stored.errors] == [
        (1, "attempt 1", at(10)),
        (2, "attempt 2", at(20)),
        (3, ERROR.message, at(30)),
    ]


def test_job_finish_many_writes_a_batch_and_returns_the_ids_written(jobs: Jobs) -> None:
    ok = jobs.running()
    retry = jobs.running()
    dead = jobs.running()
    written = jobs.finish(success(ok), failure(retry, run_at=at(60)), failure(dead), now=at(1))
    assert sorted(written) == sorted([ok.id, retry.id, dead.id])
    assert [jobs.state(j.id) for j in (ok, retry, dead)] == [
        JobState.SUCCEEDED,
        JobState.RETRYING,
        JobState.DEAD,
    ]


def test_job_finish_many_fences_off_a_stale_lease_token(jobs: Jobs) -> None:
    job = jobs.running()
    stale = b.Outcome(
        id=job.id, lease_token="someone-else", attempt=job.attempt, state=JobState.SUCCEEDED
    )
    assert jobs.finish(stale, now=at(1)) == []
    stored = jobs.get(job.id)
    assert stored.state is JobState.RUNNING
    assert stored.result is None
    assert stored.lease_expires_at is not None


def test_job_finish_many_returns_only_the_outcomes_not_fenced(jobs: Jobs) -> None:
    good = jobs.running()
    other = jobs.running()
    stale = b.Outcome(id=other.id, lease_token="old", attempt=1, state=JobState.SUCCEEDED)
    missing = b.Outcome(id=10_000, lease_token="x", attempt=1, state=JobState.SUCCEEDED)
    assert jobs.finish(stale, success(good), missing, now=at(1)) == [good.id]
    assert jobs.state(other.id) is JobState.RUNNING


def test_job_finish_many_writes_an_outcome_only_once(jobs: Jobs) -> None:
    job = jobs.running()
    assert jobs.finish(success(job, '"first"'), now=at(1)) == [job.id]
    assert jobs.finish(success(job, '"second"'), now=at(2)) == []
    assert jobs.finish(failure(job), now=at(3)) == []
    stored = jobs.get(job.id)
    assert (stored.state, stored.result, stored.finished_at) == (
        JobState.SUCCEEDED,
        "first",
        at(1),
    )


def test_job_finish_many_of_a_released_lease_is_fenced(jobs: Jobs) -> None:
    job = jobs.running()
    params = b.JobReleaseParams(
        ids=[job.id], lease_token_by_id={job.id: job.lease_token}, now=at(1)
    )
    assert jobs.backend.job_release(params) == [job.id]
    assert jobs.finish(success(job), now=at(2)) == []
    assert jobs.state(job.id) is JobState.QUEUED


def test_job_finish_many_only_expired_waits_for_the_lease_to_expire(jobs: Jobs) -> None:
    job = jobs.running(now=at(0))  # the lease runs to at(30)
    reaped = failure(job, run_at=at(100))
    assert jobs.finish(reaped, now=at(29), only_expired=True) == []
    assert jobs.finish(reaped, now=at(30), only_expired=True) == []
    assert jobs.state(job.id) is JobState.RUNNING
    assert jobs.finish(reaped, now=at(31), only_expired=True) == [job.id]
    assert jobs.state(job.id) is JobState.RETRYING


def test_job_finish_many_only_expired_loses_to_a_heartbeat(jobs: Jobs) -> None:
    job = jobs.running(worker="w1", now=at(0))
    [expired] = jobs.backend.job_list_expired(b.JobListExpiredParams(now=at(31), limit=10))
    assert expired.id == job.id
    heartbeat = b.JobHeartbeatParams(worker_id="w1", ids=[job.id], lease_for=LEASE, now=at(31))
    assert jobs.backend.job_heartbeat(heartbeat) == [job.id]
    reaped = failure(job, run_at=at(100))
    assert jobs.finish(reaped, now=at(31) + timedelta(seconds=1), only_expired=True) == []
    assert jobs.finish(success(job), now=at(32)) == [job.id]

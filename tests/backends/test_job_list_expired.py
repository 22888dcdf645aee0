"""job_list_expired and the reaper built on it: lost workers' attempts fail, fenced."""

from __future__ import annotations

from datetime import timedelta

from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.retry import RetryPolicy
from workhorse.scheduling.reaper import reap

from .support import Jobs, at, success

POLICY = RetryPolicy(base=timedelta(seconds=10), factor=2, max_delay=timedelta(minutes=5))


def _expired(jobs: Jobs, seconds: float, limit: int = 100) -> list[b.ExpiredJob]:
    return jobs.backend.job_list_expired(b.JobListExpiredParams(now=at(seconds), limit=limit))


def _reap(jobs: Jobs, seconds: float) -> int:
    return reap(jobs.backend, at(seconds), lambda task: POLICY)


def test_job_list_expired_lists_running_jobs_whose_lease_ended(jobs: Jobs) -> None:
    job = jobs.running(worker="w1", task="send", max_attempts=4, now=at(0))
    jobs.running(worker="w2", now=at(20))  # lease to at(50)
    jobs.insert()
    assert _expired(jobs, 30) == []
    assert _expired(jobs, 31) == [
        b.ExpiredJob(
            id=job.id,
            task="send",
            attempt=1,
            max_attempts=4,
            lease_token=job.lease_token,
            worker_id="w1",
        )
    ]


def test_job_list_expired_oldest_lease_first_up_to_limit(jobs: Jobs) -> None:
    late = jobs.running(now=at(10))
    early = jobs.running(now=at(0))
    middle = jobs.running(now=at(5))
    assert [job.id for job in _expired(jobs, 100)] == [early.id, middle.id, late.id]
    assert [job.id for job in _expired(jobs, 100, limit=2)] == [early.id, middle.id]


def test_job_list_expired_skips_heartbeated_and_finished_jobs(jobs: Jobs) -> None:
    kept = jobs.running(worker="w1", now=at(0))
    done = jobs.running(worker="w2", now=at(0))
    jobs.backend.job_heartbeat(
        b.JobHeartbeatParams(
            worker_id="w1", ids=[kept.id], lease_for=timedelta(seconds=30), now=at(25)
        )
    )
    jobs.finish(success(done), now=at(25))
    assert _expired(jobs, 40) == []
    assert [job.id for job in _expired(jobs, 56)] == [kept.id]


def test_reap_retries_an_expired_job_and_records_worker_lost(jobs: Jobs) -> None:
    job = jobs.running(worker="w1", max_attempts=3, now=at(0))
    assert _reap(jobs, 30) == 0
    assert _reap(jobs, 31) == 1
    stored = jobs.get(job.id)
    assert stored.state is JobState.RETRYING
    assert at(31) <= stored.run_at <= at(31) + POLICY.ceiling(1)
    assert stored.lease_expires_at is None
    [error] = stored.errors
    assert (error.attempt, error.type, error.at) == (1, "WorkerLostError", at(31))
    assert "w1" in error.message


def test_reap_kills_an_expired_job_on_its_last_attempt(jobs: Jobs) -> None:
    job = jobs.running(worker="w1", max_attempts=1, now=at(0))
    assert _reap(jobs, 31) == 1
    stored = jobs.get(job.id)
    assert stored.state is JobState.DEAD
    assert stored.finished_at == at(31)
    assert [error.type for error in stored.errors] == ["WorkerLostError"]


def test_reap_fences_off_the_lost_worker(jobs: Jobs) -> None:
    job = jobs.running(worker="w1", now=at(0))
    assert _reap(jobs, 31) == 1
    assert jobs.finish(success(job), now=at(32)) == []
    lost = b.JobHeartbeatParams(
        worker_id="w1", ids=[job.id], lease_for=timedelta(seconds=30), now=at(32)
    )
    assert jobs.backend.job_heartbeat(lost) == []
    assert jobs.state(job.id) is JobState.RETRYING


def test_reap_then_reclaim_keeps_the_lost_worker_fenced(jobs: Jobs) -> None:
    job = jobs.running(worker="w1", now=at(0))
    _reap(jobs, 31)
    jobs.backend.job_promote(b.JobPromoteParams(now=at(1000), limit=10))
    again = jobs.claim_one(job.id, worker="w2", now=at(1000))
    assert again.attempt == 2
    assert jobs.finish(success(job), now=at(1001)) == []
    assert jobs.finish(success(again), now=at(1001)) == [job.id]
    assert jobs.get(job.id).state is JobState.SUCCEEDED


def test_reap_leaves_live_leases_alone(jobs: Jobs) -> None:
    job = jobs.running(worker="w1", now=at(0))
    assert _reap(jobs, 29) == 0
    assert jobs.state(job.id) is JobState.RUNNING
    assert jobs.get(job.id).errors == []

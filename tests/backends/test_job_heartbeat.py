"""job_heartbeat: a worker extends the leases of the jobs it still holds."""

from __future__ import annotations

from datetime import timedelta

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs, at, success


def _heartbeat(jobs: Jobs, worker: str, seconds: float, lease: float = 30) -> list[int]:
    params = b.JobHeartbeatParams(
        worker_id=worker, lease_for=timedelta(seconds=lease), now=at(seconds)
    )
    return jobs.backend.job_heartbeat(params)


def test_job_heartbeat_extends_only_that_workers_running_jobs(jobs: Jobs) -> None:
    mine = [jobs.running(worker="w1"), jobs.running(worker="w1")]
    theirs = jobs.running(worker="w2")
    queued = jobs.insert()
    assert _heartbeat(jobs, "w1", 10, lease=60) == sorted(job.id for job in mine)
    for job in mine:
        assert jobs.get(job.id).lease_expires_at == at(70)
    assert jobs.get(theirs.id).lease_expires_at == at(30)
    assert jobs.get(queued).lease_expires_at is None
    assert jobs.state(queued) is JobState.QUEUED


def test_job_heartbeat_of_an_unknown_worker_extends_nothing(jobs: Jobs) -> None:
    job = jobs.running(worker="w1")
    assert _heartbeat(jobs, "ghost", 10) == []
    assert jobs.get(job.id).lease_expires_at == at(30)


def test_job_heartbeat_no_longer_returns_finished_jobs(jobs: Jobs) -> None:
    done = jobs.running(worker="w1")
    still = jobs.running(worker="w1")
    assert jobs.finish(success(done), now=at(5)) == [done.id]
    assert _heartbeat(jobs, "w1", 10) == [still.id]
    assert jobs.get(done.id).lease_expires_at is None


def test_job_heartbeat_no_longer_returns_released_jobs(jobs: Jobs) -> None:
    job = jobs.running(worker="w1")
    release = b.JobReleaseParams(
        ids=[job.id], lease_token_by_id={job.id: job.lease_token}, now=at(1)
    )
    assert jobs.backend.job_release(release) == [job.id]
    assert _heartbeat(jobs, "w1", 2) == []
    assert jobs.get(job.id).lease_expires_at is None


def test_job_heartbeat_after_a_reclaim_belongs_to_the_new_worker(jobs: Jobs) -> None:
    job = jobs.running(worker="w1")
    release = b.JobReleaseParams(
        ids=[job.id], lease_token_by_id={job.id: job.lease_token}, now=at(1)
    )
    jobs.backend.job_release(release)
    jobs.claim_one(job.id, worker="w2", now=at(2))
    assert _heartbeat(jobs, "w1", 3) == []
    assert _heartbeat(jobs, "w2", 3) == [job.id]

"""job_heartbeat: a worker extends the leases of the jobs it still holds."""

from __future__ import annotations

from datetime import timedelta

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs, at, success


def _heartbeat(
    jobs: Jobs, worker: str, seconds: float, *known: int, lease: float = 30
) -> list[int]:
    params = b.JobHeartbeatParams(
        worker_id=worker, ids=known, lease_for=timedelta(seconds=lease), now=at(seconds)
    )
    return jobs.backend.job_heartbeat(params)


def test_job_heartbeat_extends_only_that_workers_running_jobs(jobs: Jobs) -> None:
    mine = [jobs.running(worker="w1"), jobs.running(worker="w1")]
    theirs = jobs.running(worker="w2")
    queued = jobs.insert()
    named = [job.id for job in mine] + [theirs.id, queued]
    assert _heartbeat(jobs, "w1", 10, *named, lease=60) == sorted(job.id for job in mine)
    for job in mine:
        assert jobs.get(job.id).lease_expires_at == at(70)
    assert jobs.get(theirs.id).lease_expires_at == at(30)
    assert jobs.get(queued).lease_expires_at is None
    assert jobs.state(queued) is JobState.QUEUED


def test_job_heartbeat_of_an_unknown_worker_extends_nothing(jobs: Jobs) -> None:
    job = jobs.running(worker="w1")
    assert _heartbeat(jobs, "ghost", 10, job.id) == []
    assert jobs.get(job.id).lease_expires_at == at(30)


def test_job_heartbeat_no_longer_returns_finished_jobs(jobs: Jobs) -> None:
    done = jobs.running(worker="w1")
    still = jobs.running(worker="w1")
    assert jobs.finish(success(done), now=at(5)) == [done.id]
    assert _heartbeat(jobs, "w1", 10, done.id, still.id) == [still.id]
    assert jobs.get(done.id).lease_expires_at is None


def test_job_heartbeat_no_longer_returns_released_jobs(jobs: Jobs) -> None:
    job = jobs.running(worker="w1")
    release = b.JobReleaseParams(
        ids=[job.id], lease_token_by_id={job.id: job.lease_token}, now=at(1)
    )
    assert jobs.backend.job_release(release) == [job.id]
    assert _heartbeat(jobs, "w1", 2, job.id) == []
    assert jobs.get(job.id).lease_expires_at is None


def test_job_heartbeat_after_a_reclaim_belongs_to_the_new_worker(jobs: Jobs) -> None:
    job = jobs.running(worker="w1")
    release = b.JobReleaseParams(
        ids=[job.id], lease_token_by_id={job.id: job.lease_token}, now=at(1)
    )
    jobs.backend.job_release(release)
    jobs.claim_one(job.id, worker="w2", now=at(2))
    assert _heartbeat(jobs, "w1", 3, job.id) == []
    assert _heartbeat(jobs, "w2", 3, job.id) == [job.id]


def test_job_heartbeat_leaves_a_job_the_worker_does_not_name_to_its_lease(jobs: Jobs) -> None:
    """A claim whose answer was lost: the job runs under the worker's name in the store, but the
    worker never knew it. Its lease is not kept alive; it expires and the reaper hands it on."""
    known = jobs.running(worker="w1")
    unknown = jobs.running(worker="w1")
    assert _heartbeat(jobs, "w1", 10, known.id, lease=60) == [known.id]
    assert jobs.get(known.id).lease_expires_at == at(70)
    assert jobs.get(unknown.id).lease_expires_at == at(30)
    expired = jobs.backend.job_list_expired(b.JobListExpiredParams(now=at(31), limit=10))
    assert [job.id for job in expired] == [unknown.id]

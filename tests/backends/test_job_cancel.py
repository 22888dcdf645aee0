"""job_cancel: any non-terminal job may be cancelled; a running one loses its lease."""

from __future__ import annotations

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import LEASE, Jobs, at, success


def _cancel(jobs: Jobs, job_id: int, tenant: str | None = None) -> b.JobChange | None:
    return jobs.backend.job_cancel(b.JobCancelParams(id=job_id, now=at(5), tenant=tenant))


@pytest.mark.parametrize(
    "state", [JobState.QUEUED, JobState.SCHEDULED, JobState.RETRYING, JobState.RUNNING]
)
def test_job_cancel_cancels_a_live_job(jobs: Jobs, state: JobState) -> None:
    job_id = jobs.in_state(state)
    change = _cancel(jobs, job_id)
    assert change is not None
    assert change.changed
    assert change.job.id == job_id
    assert change.job.state is JobState.CANCELLED
    assert change.job.finished_at == at(5)
    assert change.job.lease_expires_at is None
    assert jobs.get(job_id) == change.job


def test_job_cancel_of_a_running_job_fences_off_its_worker(jobs: Jobs) -> None:
    job = jobs.running(worker="w1")
    assert _cancel(jobs, job.id) is not None
    assert jobs.finish(success(job), now=at(6)) == []
    heartbeat = b.JobHeartbeatParams(worker_id="w1", ids=[job.id], lease_for=LEASE, now=at(6))
    assert jobs.backend.job_heartbeat(heartbeat) == []
    release = b.JobReleaseParams(
        ids=[job.id], lease_token_by_id={job.id: job.lease_token}, now=at(6)
    )
    assert jobs.backend.job_release(release) == []
    assert jobs.state(job.id) is JobState.CANCELLED
    assert jobs.get(job.id).result is None


def test_job_cancel_of_a_cancelled_job_is_never_claimed(jobs: Jobs) -> None:
    job_id = jobs.insert()
    _cancel(jobs, job_id)
    assert jobs.claim(now=at(6)) == []


@pytest.mark.parametrize("state", [JobState.SUCCEEDED, JobState.DEAD, JobState.CANCELLED])
def test_job_cancel_of_a_terminal_job_changes_nothing(jobs: Jobs, state: JobState) -> None:
    job_id = jobs.in_state(state)
    before = jobs.get(job_id)
    change = _cancel(jobs, job_id)
    assert change is not None
    assert not change.changed
    assert change.job == before


def test_job_cancel_of_a_missing_job_is_none(jobs: Jobs) -> None:
    assert _cancel(jobs, 12345) is None


def test_job_cancel_of_another_tenants_job_is_none_and_changes_nothing(jobs: Jobs) -> None:
    job_id = jobs.insert(tenant="acme")
    assert _cancel(jobs, job_id, tenant="globex") is None
    assert jobs.state(job_id) is JobState.QUEUED
    change = _cancel(jobs, job_id, tenant="acme")
    assert change is not None
    assert change.changed

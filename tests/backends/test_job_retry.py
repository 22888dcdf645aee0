"""job_retry: a dead job, and only a dead job, goes back to the queue with fresh attempts."""

from __future__ import annotations

import pytest

from workhorse.backends import base as b
from workhorse.errors import InvalidTransitionError
from workhorse.jobs import JobState

from .support import Jobs, at, failure, new_job


def _retry(jobs: Jobs, job_id: int, tenant: str | None = None) -> b.JobChange | None:
    return jobs.backend.job_retry(b.JobRetryParams(id=job_id, now=at(50), tenant=tenant))


def test_job_retry_requeues_a_dead_job_with_fresh_attempts(jobs: Jobs) -> None:
    job = jobs.running(max_attempts=1, now=at(0))
    jobs.finish(failure(job), now=at(10))
    change = _retry(jobs, job.id)
    assert change is not None
    assert change.changed
    retried = change.job
    assert retried.state is JobState.QUEUED
    assert retried.attempts == 0
    assert retried.run_at == at(50)
    assert (retried.finished_at, retried.result) == (None, None)
    assert len(retried.errors) == 1, "the history of failed attempts is kept"
    assert jobs.get(job.id) == retried
    again = jobs.claim_one(job.id, now=at(51))
    assert again.attempt == 1
    assert again.max_attempts == 1


@pytest.mark.parametrize(
    "state",
    [
        JobState.SCHEDULED,
        JobState.QUEUED,
        JobState.RUNNING,
        JobState.RETRYING,
        JobState.SUCCEEDED,
        JobState.CANCELLED,
    ],
)
def test_job_retry_only_from_dead(jobs: Jobs, state: JobState) -> None:
    job_id = jobs.in_state(state)
    before = jobs.get(job_id)
    change = _retry(jobs, job_id)
    assert change is not None
    assert not change.changed
    assert change.job == before


def test_job_retry_of_a_missing_job_is_none(jobs: Jobs) -> None:
    assert _retry(jobs, 999) is None


def test_job_retry_of_another_tenants_job_is_none(jobs: Jobs) -> None:
    job_id = jobs.in_state(JobState.DEAD, tenant="acme")
    assert _retry(jobs, job_id, tenant="globex") is None
    assert jobs.state(job_id) is JobState.DEAD
    change = _retry(jobs, job_id, tenant="acme")
    assert change is not None
    assert change.changed


def test_job_retry_refuses_when_a_live_job_holds_the_unique_key(jobs: Jobs) -> None:
    dead = jobs.in_state(JobState.DEAD, unique_key="nightly")
    live = jobs.insert(unique_key="nightly")
    with pytest.raises(InvalidTransitionError):
        _retry(jobs, dead)
    assert jobs.state(dead) is JobState.DEAD
    assert jobs.state(live) is JobState.QUEUED


def test_job_retry_with_a_free_unique_key_holds_it_again(jobs: Jobs) -> None:
    dead = jobs.in_state(JobState.DEAD, unique_key="nightly")
    change = _retry(jobs, dead)
    assert change is not None
    assert change.changed
    [again] = jobs.insert_many([new_job(at(60), unique_key="nightly")])
    assert again == b.InsertedJob(id=dead, created=False)

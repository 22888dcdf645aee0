"""job_promote and the promoter: due scheduled and retrying jobs become queued."""

from __future__ import annotations

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.scheduling import promoter

from .support import Jobs, at, failure


def _promote(jobs: Jobs, seconds: float, limit: int = 100) -> int:
    return jobs.backend.job_promote(b.JobPromoteParams(now=at(seconds), limit=limit))


def test_job_promote_queues_due_scheduled_jobs(jobs: Jobs) -> None:
    due = jobs.insert(run_at=at(10))
    exactly = jobs.insert(run_at=at(20))
    future = jobs.insert(run_at=at(21))
    assert _promote(jobs, 5) == 0
    assert _promote(jobs, 20) == 2
    assert [jobs.state(i) for i in (due, exactly, future)] == [
        JobState.QUEUED,
        JobState.QUEUED,
        JobState.SCHEDULED,
    ]
    assert jobs.get(due).run_at == at(10)


def test_job_promote_queues_due_retrying_jobs(jobs: Jobs) -> None:
    soon = jobs.running()
    later = jobs.running()
    jobs.finish(failure(soon, run_at=at(10)), failure(later, run_at=at(100)), now=at(1))
    assert _promote(jobs, 50) == 1
    assert jobs.state(soon.id) is JobState.QUEUED
    assert jobs.state(later.id) is JobState.RETRYING
    assert [job.id for job in jobs.claim(now=at(50))] == [soon.id]


@pytest.mark.parametrize(
    "state", [JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED, JobState.DEAD]
)
def test_job_promote_leaves_other_states_alone(jobs: Jobs, state: JobState) -> None:
    job_id = jobs.in_state(state)
    assert _promote(jobs, 10_000) == 0
    assert jobs.state(job_id) is state


def test_job_promote_leaves_cancelled_scheduled_jobs_alone(jobs: Jobs) -> None:
    job_id = jobs.insert(run_at=at(10))
    jobs.backend.job_cancel(b.JobCancelParams(id=job_id, now=at(1)))
    assert _promote(jobs, 100) == 0
    assert jobs.state(job_id) is JobState.CANCELLED


def test_job_promote_respects_the_limit_oldest_first(jobs: Jobs) -> None:
    ids = [jobs.insert(run_at=at(seconds)) for seconds in (30, 10, 20)]
    assert _promote(jobs, 100, limit=2) == 2
    assert [jobs.state(i) for i in ids] == [JobState.SCHEDULED, JobState.QUEUED, JobState.QUEUED]
    assert _promote(jobs, 100, limit=2) == 1


def test_promote_loops_over_batches_until_nothing_is_due(
    jobs: Jobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(promoter, "BATCH", 2)
    due = [jobs.insert(run_at=at(10 + i)) for i in range(5)]
    future = jobs.insert(run_at=at(1000))
    assert promoter.promote(jobs.backend, at(100)) == 5
    assert {jobs.state(i) for i in due} == {JobState.QUEUED}
    assert jobs.state(future) is JobState.SCHEDULED
    assert promoter.promote(jobs.backend, at(100)) == 0

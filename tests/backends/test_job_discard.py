"""job_discard: cancel one dead job so it never runs again; nothing else changes state."""

from __future__ import annotations

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs, at


def _discard(jobs: Jobs, job_id: int, tenant: str | None = None) -> b.JobChange | None:
    return jobs.backend.job_discard(b.JobDiscardParams(id=job_id, now=at(100), tenant=tenant))


def test_job_discard_cancels_a_dead_job_and_keeps_when_it_died(jobs: Jobs) -> None:
    dead = jobs.in_state(JobState.DEAD, now=at(5))
    change = _discard(jobs, dead)
    assert change is not None
    assert (change.changed, change.job.state) == (True, JobState.CANCELLED)
    assert change.job.finished_at == at(5)
    assert len(change.job.errors) == 1, "the failed attempts stay on record"
    assert jobs.get(dead).state is JobState.CANCELLED


def test_job_discard_is_a_no_op_the_second_time(jobs: Jobs) -> None:
    dead = jobs.in_state(JobState.DEAD)
    _discard(jobs, dead)
    change = _discard(jobs, dead)
    assert change is not None
    assert (change.changed, change.job.state) == (False, JobState.CANCELLED)


@pytest.mark.parametrize(
    "state", [s for s in JobState if s not in {JobState.DEAD, JobState.CANCELLED}]
)
def test_job_discard_leaves_jobs_that_are_not_dead(jobs: Jobs, state: JobState) -> None:
    job_id = jobs.in_state(state)
    change = _discard(jobs, job_id)
    assert change is not None
    assert (change.changed, change.job.state) == (False, state)
    assert jobs.state(job_id) is state


def test_job_discard_is_scoped_by_tenant(jobs: Jobs) -> None:
    dead = jobs.in_state(JobState.DEAD, tenant="acme")
    assert _discard(jobs, dead, tenant="globex") is None
    assert jobs.state(dead) is JobState.DEAD
    change = _discard(jobs, dead, tenant="acme")
    assert change is not None and change.changed
    assert _discard(jobs, 10**9) is None
